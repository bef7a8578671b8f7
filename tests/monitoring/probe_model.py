"""The model the live monitoring test serves, logged from code: it doubles `x`, fails or stalls on request.

action "raise" makes the model call fail (the server answers 400); "sleep" holds it for `x` seconds, past the
server's request timeout (504): the live test needs both a caller's error and a server error.
"""
import time

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ProbeModel(PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None):
        if (model_input["action"] == "raise").any():
            raise ValueError("asked to fail")
        stalls = model_input.loc[model_input["action"] == "sleep", "x"]
        if len(stalls):
            time.sleep(float(stalls.max()))
        return (model_input["x"] * 2).to_numpy()


mlflow.models.set_model(ProbeModel())
