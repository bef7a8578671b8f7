"""Models of several kinds, each trained on the churn table and logged for real with MLflow, so the parity tests
and bench/models.py serve the same ones: a custom pyfunc answering a DataFrame, a model logged without a
signature, a classifier answering string labels, a LightGBM model and a pyfunc whose signature has params.

    kind = KINDS["string_labels"]
    uri = register(kind, tracking_uri, artifact_root)   # models:/string_labels/1
    body_frame = kind.features(rows=10, seed=1)
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from examples.train_and_register import CATEGORICAL_COLUMNS, NUMERIC_COLUMNS, build_pipeline, make_churn_frame

HERE = Path(__file__).resolve().parent
TRAINING_ROWS = 500
EXAMPLE_ROWS = 5
# The params model's signature: its defaults apply to every request that sends no params.
SCALED_PARAMS = {"scale": 2.0, "digits": 1}


@dataclass(frozen=True)
class ModelKind:
    """One kind of model: how its input looks, how it is logged, and what a request may add."""

    name: str
    log: Callable[[pd.DataFrame, np.ndarray], ModelInfo]  # logs and registers it under `name`, in the active run
    numeric_only: bool = False  # LightGBM reads no string columns
    params: dict[str, Any] | None = None  # params a request may send, other than the signature's defaults

    def features(self, rows: int, seed: int) -> pd.DataFrame:
        frame, _ = make_churn_frame(rows, seed)
        return frame[NUMERIC_COLUMNS] if self.numeric_only else frame


def requirements(*extra: str) -> list[str]:
    """What a model needs to load, pinned to this environment (MLflow's inference would list pytest)."""
    return [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy",
                                                   *extra)]


def log_sklearn(name: str, model: Any, features: pd.DataFrame, signed: bool) -> ModelInfo:
    import skops.io

    # skops loads only the types it is told to trust: exactly those of the model just built here.
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    example = features.head(EXAMPLE_ROWS)
    return mlflow.sklearn.log_model(
        model, name="model", registered_model_name=name, skops_trusted_types=trusted,
        signature=infer_signature(example, model.predict(example)) if signed else None,
        # An input example would give MLflow a signature to infer: the unsigned model gets none.
        input_example=example if signed else None, pip_requirements=requirements(),
    )


def log_unsigned(features: pd.DataFrame, churned: np.ndarray) -> ModelInfo:
    return log_sklearn("unsigned", build_pipeline(max_iter=20).fit(features, churned), features, signed=False)


def log_string_labels(features: pd.DataFrame, churned: np.ndarray) -> ModelInfo:
    encode = ColumnTransformer([("contract", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL_COLUMNS),
                                ("numbers", StandardScaler(), NUMERIC_COLUMNS)])
    pipeline = Pipeline([("encode", encode), ("classify", LogisticRegression())])
    labels = np.where(churned == 1, "churns", "stays").astype(object)
    return log_sklearn("string_labels", pipeline.fit(features, labels), features, signed=True)


def log_lightgbm(features: pd.DataFrame, churned: np.ndarray) -> ModelInfo:
    import lightgbm

    numeric = features[NUMERIC_COLUMNS]
    model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, n_jobs=1, verbose=-1).fit(numeric, churned)
    example = numeric.head(EXAMPLE_ROWS)
    return mlflow.lightgbm.log_model(model, name="model", registered_model_name="lightgbm", input_example=example,
                              signature=infer_signature(example, model.predict(example)),
                              pip_requirements=requirements("lightgbm"))


def log_from_code(name: str, code: str, output: Any, features: pd.DataFrame, params: dict[str, Any] | None = None) -> ModelInfo:
    example = features.head(EXAMPLE_ROWS)
    return mlflow.pyfunc.log_model(name="model", python_model=str(HERE / code), registered_model_name=name,
                            signature=infer_signature(example, output, params=params), input_example=example,
                            pip_requirements=requirements())


def log_frame_pyfunc(features: pd.DataFrame, churned: np.ndarray) -> ModelInfo:
    output = pd.DataFrame({"risk": [0.5], "band": ["low"]})
    return log_from_code("frame_pyfunc", "frame_model.py", output, features)


def log_params_pyfunc(features: pd.DataFrame, churned: np.ndarray) -> ModelInfo:
    return log_from_code("params_pyfunc", "scaled_model.py", np.array([1.0]), features, params=SCALED_PARAMS)


KINDS = {kind.name: kind for kind in (
    ModelKind("frame_pyfunc", log_frame_pyfunc),
    ModelKind("unsigned", log_unsigned),
    ModelKind("string_labels", log_string_labels),
    ModelKind("lightgbm", log_lightgbm, numeric_only=True),
    ModelKind("params_pyfunc", log_params_pyfunc, params={"scale": 0.5, "digits": 3}),
)}


def register(kind: ModelKind, tracking_uri: str, artifact_root: Path, seed: int = 0) -> str:
    """Trains and logs `kind` as a new version of the registered model of its name; its models:/ URI."""
    mlflow.set_tracking_uri(tracking_uri)
    if mlflow.get_experiment_by_name(kind.name) is None:  # artifacts under artifact_root, not the working directory
        mlflow.create_experiment(kind.name, artifact_location=(artifact_root / kind.name).as_uri())
    mlflow.set_experiment(kind.name)
    features, churned = make_churn_frame(TRAINING_ROWS, seed)
    with mlflow.start_run():
        info = kind.log(features, churned)
    return f"models:/{kind.name}/{info.registered_model_version}"
