"""A model logged from code for the fault tests: it doubles `x`, raises on request, or sleeps.

action "raise" makes the whole call fail; action "sleep" holds the call for `x` seconds.
"""

import time

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class FaultyModel(PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None):
        if (model_input["action"] == "raise").any():
            raise ValueError("this model was asked to fail")
        sleeping = model_input.loc[model_input["action"] == "sleep", "x"]
        if len(sleeping):
            time.sleep(float(sleeping.max()))
        return (model_input["x"] * 2).to_numpy()


mlflow.models.set_model(FaultyModel())
