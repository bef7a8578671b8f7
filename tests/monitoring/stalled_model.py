"""A bad new version of the probe model for the live canary test: every call stalls past the server's request
timeout, so the canary answers each prediction with a 504 while the stable version answers 200."""
import time

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

STALL_SECONDS = 2.0


class StalledModel(PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None):
        time.sleep(STALL_SECONDS)
        return (model_input["x"] * 2).to_numpy()


mlflow.models.set_model(StalledModel())
