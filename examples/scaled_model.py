"""A custom pyfunc, logged from code, whose signature has params: monthly charges times `scale`, rounded to
`digits`.  It reads the params without defaults of its own, so a server that does not fill in the signature's
defaults for a request without params fails here instead of answering something else."""

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ScaledChargesModel(PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None):
        return (model_input["monthly_charges"] * params["scale"]).round(params["digits"]).to_numpy()


mlflow.models.set_model(ScaledChargesModel())
