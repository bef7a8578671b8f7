"""A custom pyfunc, logged from code, that answers a DataFrame: a risk score and a band for each row, from that
row alone (so it may be batched)."""

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


class RiskFrameModel(PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        risk = (model_input["support_calls"] * 0.5 - model_input["tenure_months"] * 0.04
                + (model_input["contract"] == "month-to-month") * 1.2).round(6)
        return pd.DataFrame({"risk": risk.to_numpy(dtype="float64"),
                             "band": np.where(risk > 0.6, "high", "low").astype(object)})


mlflow.models.set_model(RiskFrameModel())
