"""A model logged from code that fails to load with an exception whose message is empty."""

import mlflow
from mlflow.pyfunc import PythonModel


class UnloadableModel(PythonModel):
    def load_context(self, context):
        raise RuntimeError()

    def predict(self, context, model_input, params=None):
        return model_input


mlflow.models.set_model(UnloadableModel())
