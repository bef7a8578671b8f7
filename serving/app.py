"""The ASGI application: routes, and a lifespan that loads the model before serving."""

import contextlib
import logging
from collections.abc import AsyncIterator

import mlflow.version
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from serving import __version__, metrics
from serving.http import json_response
from serving.limits import Intake, MemoryBudget
from serving.observability import Handler, InstrumentedRoute
from serving.predictor import Predictor
from serving.preload import import_skops_first
from serving.protocols.mlflow_scoring import invocations_handler
from serving.protocols.open_inference import open_inference_routes
from serving.routing import JsonRoute, not_found
from serving.runtime import import_runtime
from serving.settings import Settings
from serving.source import ModelSource

log = logging.getLogger("serving")


def one_line(error: BaseException) -> str:
    """The error's type and the first line of its message, which may be empty."""
    first = next(iter(str(error).splitlines()), "")
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def _health_routes(predictor: Predictor) -> dict[str, Handler]:
    async def alive(request: Request) -> Response:
        return Response(b"\n", 200, media_type="application/json")

    async def ready(request: Request) -> Response:
        return json_response({"ready": predictor.ready}, 200 if predictor.ready else 503)

    async def version(request: Request) -> Response:
        source = predictor.source
        return json_response({
            "server_version": __version__, "mlflow_version": mlflow.version.VERSION, "model_uri": source.uri,
            "model_name": source.name, "model_version": source.version, "run_id": source.run_id,
            "model_flavor": predictor.model.flavor if predictor.model else None, "batching": predictor.batching,
        })

    async def prometheus(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, 200, headers={"Content-Type": content_type})

    return {"/ping": alive, "/health": alive, "/v2/health/live": alive, "/ready": ready,
            "/v2/health/ready": ready, "/version": version, "/metrics": prometheus}


class ExactPaths:
    """The ASGI app: routes are found by one dict lookup on (method, path), those with path parameters for the
    served model's own name and version, the only values they answer 200 for.  Other paths, and the lifespan, go
    through the Router, which tries each route's pattern in turn.  With the body read from ASGI messages directly
    (serving.http.read_body), this took 0.08 ms off a lone prediction here."""

    def __init__(self, router: Router, served: dict[str, str]):
        self._router = router
        self._exact: dict[tuple[str, str], tuple[ASGIApp, dict[str, str]]] = {}
        for route in router.routes:
            if not isinstance(route, Route) or not all(served.get(key) for key in route.param_convertors):
                continue
            params = {key: served[key] for key in route.param_convertors}
            path = route.path
            for key, value in params.items():
                path = path.replace(f"{{{key}}}", value)
            for method in route.methods or ():
                self._exact[method, path] = route.app, params

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (found := self._exact.get((scope["method"], scope["path"]))) is not None:
            app, params = found
            if params:
                scope["path_params"] = dict(params)
            await app(scope, receive, send)
        else:
            await self._router(scope, receive, send)


def create_app(settings: Settings, source: ModelSource) -> ExactPaths:
    """ExactPaths over a bare Router, not a Starlette app: each route already answers its own errors, so
    Starlette's two error middlewares would only add per-request work."""
    predictor = Predictor(settings, source)

    @contextlib.asynccontextmanager
    async def lifespan(app: Router) -> AsyncIterator[None]:
        try:
            await predictor.start()
        except Exception as error:
            log.error("cannot load model %s: %s", source.uri, one_line(error))
            raise
        log.info("serving %s (version %s) on %s:%d", source.name, source.version or "-", settings.host, settings.port)
        try:
            yield
        finally:
            await predictor.stop()
            intake.parser.stop()
            metrics.forget_this_process()

    def route(path: str, handler: Handler, method: str = "GET") -> Route:
        return JsonRoute(path, InstrumentedRoute(path, handler, settings.access_log), methods=[method])

    intake = Intake(settings.max_body_bytes, MemoryBudget(settings.memory_budget_bytes))
    routes = [route("/invocations", invocations_handler(predictor, intake), "POST")]
    routes += [route(path, handler, method) for path, method, handler in open_inference_routes(predictor, intake)]
    routes += [route(path, handler) for path, handler in _health_routes(predictor).items()]
    served = {"name": source.name, "version": source.version}
    return ExactPaths(Router(routes=routes, default=not_found, lifespan=lifespan), served)


def app_from_environment() -> ExactPaths:
    """uvicorn's factory in each worker process."""
    import_skops_first()
    return create_app(*import_runtime())
