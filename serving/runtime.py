"""How the parent process hands each worker its settings and the downloaded model: one variable.

Kept apart from serving.app so the parent never imports the metrics, whose multiprocess files
would otherwise count the parent as a live process that is not ready.
"""

import json
import os

from serving.settings import Settings
from serving.source import ModelSource

RUNTIME_ENV = "MLSTACK_SERVING_RUNTIME"


def export_runtime(settings: Settings, source: ModelSource) -> None:
    os.environ[RUNTIME_ENV] = json.dumps({"settings": settings.__dict__, "source": source.to_dict()})


def import_runtime() -> tuple[Settings, ModelSource]:
    runtime = json.loads(os.environ[RUNTIME_ENV])
    return Settings(**runtime["settings"]), ModelSource(**runtime["source"])
