"""Train a small churn classifier, log it to MLflow, register it and point an alias at it.

Works against any tracking URI: a local SQLite store by default, or the stack's MLflow
reached through `kubectl port-forward` (pass --tracking-uri http://127.0.0.1:5000).
"""

import argparse
import os

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

CONTRACTS = ("month-to-month", "one-year", "two-year")
NUMERIC_COLUMNS = ["tenure_months", "monthly_charges", "support_calls", "total_charges"]
CATEGORICAL_COLUMNS = ["contract"]

# skops refuses to load types it does not know; these are the ones this pipeline pickles.
SKOPS_TRUSTED_TYPES = [
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._encoders.OneHotEncoder",
]


def model_requirements() -> list[str]:
    """What the model needs to load, pinned to this environment. Named explicitly because MLflow's inference
    follows skops's imports and would list pytest whenever the training environment has it installed."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy")]


def make_churn_frame(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A synthetic churn table: short tenure, many support calls and monthly contracts churn."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, rows)
    monthly = rng.uniform(18.0, 120.0, rows).round(2)
    calls = rng.poisson(1.5, rows)
    contract = rng.choice(CONTRACTS, rows, p=[0.5, 0.3, 0.2])
    frame = pd.DataFrame(
        {
            "tenure_months": tenure.astype("int64"),
            "monthly_charges": monthly,
            "support_calls": calls.astype("int64"),
            "contract": contract.astype(object),
            "total_charges": (tenure * monthly).round(2),
        }
    )
    risk = 1.2 * (contract == "month-to-month") + 0.5 * calls - 0.04 * tenure + 0.01 * monthly
    churned = (risk + rng.normal(0, 0.7, rows) > 0.6).astype("int64")
    return frame, churned


def build_pipeline(max_iter: int) -> Pipeline:
    encode = ColumnTransformer(
        [("contract", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL_COLUMNS)],
        remainder="passthrough",
    )
    return Pipeline([("encode", encode), ("classify", HistGradientBoostingClassifier(max_iter=max_iter))])


def train_and_register(tracking_uri: str, model_name: str, alias: str, max_iter: int, seed: int) -> str:
    """Log a freshly trained pipeline, register it as a new version and move `alias` to it."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(model_name)
    features, labels = make_churn_frame(2000, seed)
    pipeline = build_pipeline(max_iter).fit(features, labels)
    example = features.head(5)
    with mlflow.start_run() as run:
        mlflow.log_params({"max_iter": max_iter, "seed": seed})
        mlflow.log_metric("train_accuracy", float(pipeline.score(features, labels)))
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=infer_signature(example, pipeline.predict(example)),
            input_example=example,
            registered_model_name=model_name,
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pip_requirements=model_requirements(),
        )
    version = info.registered_model_version
    MlflowClient().set_registered_model_alias(model_name, alias, version)
    print(f"run {run.info.run_id}: registered {model_name} version {version}, alias @{alias}")
    return f"models:/{model_name}@{alias}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"))
    parser.add_argument("--model-name", default="churn")
    parser.add_argument("--alias", default="champion")
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(train_and_register(args.tracking_uri, args.model_name, args.alias, args.max_iter, args.seed))


if __name__ == "__main__":
    main()
