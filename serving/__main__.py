"""`python -m serving`: fetch the model once, then serve it from one or more worker processes."""

import functools
import logging
import os
import shutil
import signal
import sys
import tempfile
from typing import TYPE_CHECKING

from serving.preload import import_skops_first
from serving.settings import Settings, parse_settings

if TYPE_CHECKING:  # imported once the process environment is set (see _prepare_process_environment)
    from serving.source import ModelSource

log = logging.getLogger("serving")
NUMERIC_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _prepare_process_environment(settings: Settings, scratch: str) -> None:
    """Set before prometheus-client, numpy or MLflow are imported, and inherited by every worker."""
    metrics_dir = os.path.join(scratch, "metrics")
    os.makedirs(metrics_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    for variable in NUMERIC_THREAD_VARIABLES:
        os.environ.setdefault(variable, str(settings.numeric_threads))
    # MLflow's own HTTP retries would otherwise wait minutes on an unreachable registry; ours are bounded.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")


def _fetch(settings: Settings, scratch: str) -> "ModelSource":
    from serving.requirements_check import check_requirements
    from serving.source import ModelUnavailable, fetch_model

    try:
        source = fetch_model(settings.model_uri, os.path.join(scratch, "model"), settings.load_retries, settings.model_name)
    except ModelUnavailable as error:
        raise SystemExit(f"cannot load model {settings.model_uri}: {error}") from None
    if settings.requirements_check != "off":
        missing, mismatched = check_requirements(source.local_path)
        if missing or (mismatched and settings.requirements_check == "strict"):
            raise SystemExit(f"cannot load model {settings.model_uri}: unmet requirements {missing + mismatched}")
        for line in mismatched:
            log.warning("model requirement not met exactly: %s", line)
    return source


def _serve(settings: Settings, source: "ModelSource") -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from serving.connections import ReadDeadlineProtocol
    from serving.runtime import export_runtime

    export_runtime(settings, source)
    config = uvicorn.Config(
        "serving.app:app_from_environment", factory=True,
        host=settings.host, port=settings.port, workers=settings.workers,
        # uvicorn calls `http` as a protocol factory, so a partial serves, though annotated as a class.
        loop="uvloop", http=functools.partial(ReadDeadlineProtocol, read_timeout=settings.read_timeout),  # type: ignore[arg-type]
        lifespan="on", access_log=False, proxy_headers=False, server_header=False,
        # Annotated int, used as asyncio delays: fractional seconds work and are kept, not rounded.
        timeout_graceful_shutdown=settings.graceful_timeout,  # type: ignore[arg-type]
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        limit_concurrency=settings.max_connections,
    )
    if settings.workers == 1:
        # uvicorn re-raises SIGTERM once it has shut down gracefully; the drain is done, so exit 0.
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        server = uvicorn.Server(config)
        server.run()
        return 0 if server.started else STARTUP_FAILURE
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
    return STARTUP_FAILURE if failed else 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = parse_settings(argv)
    scratch = tempfile.mkdtemp(prefix="mlstack-serving-")
    try:
        _prepare_process_environment(settings, scratch)
        if settings.workers == 1:  # this process loads the model too; with more, each worker does
            import_skops_first()
        return _serve(settings, _fetch(settings, scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
