"""Find the model behind MODEL_URI, bring its files onto local disk once, and say what it is.

Runs in the parent process before any worker starts, so a bad URI or an unreachable registry
fails start-up once, with one clear line, instead of in every worker.
"""

import logging
import os
import re
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # mlflow is imported only where it is used: it is slow to import
    from mlflow.entities.model_registry import ModelVersion

log = logging.getLogger("serving")

REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<ref>[^/]+))$")
# A client error from the registry (unknown model, bad alias) will not heal by retrying.
PERMANENT_HTTP_STATUSES = range(400, 500)


class ModelUnavailable(RuntimeError):
    """The model cannot be served: a bad URI, an unreachable registry, or missing packages."""


@dataclass(frozen=True)
class ModelSource:
    uri: str
    local_path: str
    name: str
    version: str
    run_id: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def _registered_version(name: str, alias: str | None, ref: str | None) -> "ModelVersion":
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    if alias:
        return client.get_model_version_by_alias(name, alias)
    assert ref is not None, "REGISTRY_URI matches an alias or a ref"
    if ref.isdigit():
        return client.get_model_version(name, ref)
    latest: list[ModelVersion] = client.get_latest_versions(name, stages=[ref])
    if not latest:
        raise ModelUnavailable(f"model {name!r} has no version in stage {ref!r}")
    return latest[0]


def _download(uri: str, destination: str) -> tuple[str, str, str]:
    """Local path, registered version and run id; a registry URI is pinned to the version it resolves to
    so that an alias moving during the download cannot mix two versions."""
    import mlflow.artifacts

    registered = REGISTRY_URI.match(uri)
    if registered:
        found = _registered_version(registered["name"], registered["alias"], registered["ref"])
        pinned = f"models:/{found.name}/{found.version}"
        return mlflow.artifacts.download_artifacts(artifact_uri=pinned, dst_path=destination), str(found.version), found.run_id or ""
    if os.path.isdir(uri):
        return uri, "", ""
    return mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=destination), "", ""


def _is_permanent(error: Exception) -> bool:
    from mlflow.exceptions import MlflowException

    if isinstance(error, MlflowException):
        return error.get_http_status_code() in PERMANENT_HTTP_STATUSES  # type: ignore[no-untyped-call]  # mlflow leaves it unannotated
    return isinstance(error, (ModelUnavailable, FileNotFoundError))


def _default_name(uri: str, local_path: str) -> str:
    registered = REGISTRY_URI.match(uri)
    if registered:
        return registered["name"]
    return os.path.basename(os.path.normpath(local_path)) or "model"


def fetch_model(uri: str, destination: str, attempts: int, name: str | None = None) -> ModelSource:
    """Download with bounded retries (backoff 1 s, 2 s, 4 s, ...) for failures that may pass."""
    from mlflow.models import Model

    for attempt in range(1, attempts + 1):
        try:
            local_path, version, run_id = _download(uri, destination)
            break
        except Exception as error:  # every failure is either retried or reported
            if _is_permanent(error) or attempt == attempts:
                raise ModelUnavailable(f"{type(error).__name__}: {error}".splitlines()[0]) from error
            log.warning("fetching %s failed (attempt %d/%d): %s", uri, attempt, attempts, error)
            time.sleep(2 ** (attempt - 1))
    metadata = Model.load(local_path)
    return ModelSource(
        uri=uri,
        local_path=local_path,
        name=name or _default_name(uri, local_path),
        version=version,
        run_id=run_id or metadata.run_id or "",
    )
