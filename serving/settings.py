"""Command line and environment: every flag can also be set by the variable named in its help."""

import argparse
import os
from dataclasses import dataclass

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    model_uri: str
    host: str
    port: int
    workers: int
    model_name: str | None
    batching: bool
    max_batch_size: int
    max_batch_wait_ms: float
    request_timeout: float
    max_body_bytes: int
    access_log: bool
    load_retries: int
    graceful_timeout: float
    numeric_threads: int
    requirements_check: str

    @property
    def batch_limit(self) -> int:
        return self.max_batch_size if self.batching else 1


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if raw.lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.lower() in TRUE_WORDS
    raise SystemExit(f"{name}={raw!r}: expected one of {sorted(TRUE_WORDS | FALSE_WORDS)}")


def _default_numeric_threads(workers: int) -> int:
    """Share the cores this process may use among the workers, so model thread pools never oversubscribe."""
    return max(1, len(os.sched_getaffinity(0)) // workers)


def build_parser(env: dict[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m serving", description="Serve one MLflow model over HTTP.")
    add = parser.add_argument
    add("--model-uri", "-m", default=env.get("MODEL_URI"), help="models:/name@alias, runs:/id/path or a path (MODEL_URI)")
    add("--host", "-H", default=env.get("HOST", "127.0.0.1"), help="bind address (HOST)")
    add("--port", "-p", type=int, default=int(env.get("PORT", "8080")), help="bind port (PORT)")
    add("--workers", "-w", type=int, default=int(env.get("WORKERS", "1")), help="worker processes (WORKERS)")
    add("--model-name", default=env.get("MODEL_NAME"), help="name in /version and V2 paths (MODEL_NAME)")
    add("--batching", action=argparse.BooleanOptionalAction, default=_flag(env, "BATCHING", True),
        help="combine concurrent requests into one model call (BATCHING)")
    add("--max-batch-size", type=int, default=int(env.get("MAX_BATCH_SIZE", "64")),
        help="most requests in one model call (MAX_BATCH_SIZE)")
    add("--max-batch-wait-ms", type=float, default=float(env.get("MAX_BATCH_WAIT_MS", "0")),
        help="how long an idle model waits for more requests; 0 never delays a lone request (MAX_BATCH_WAIT_MS)")
    add("--request-timeout", type=float, default=float(env.get("REQUEST_TIMEOUT_SECONDS", "60")),
        help="seconds before a prediction answers 504 (REQUEST_TIMEOUT_SECONDS)")
    add("--max-body-bytes", type=int, default=int(env.get("MAX_BODY_BYTES", str(16 * 1024 * 1024))),
        help="larger request bodies answer 413 (MAX_BODY_BYTES)")
    add("--access-log", action=argparse.BooleanOptionalAction, default=_flag(env, "ACCESS_LOG", True),
        help="one JSON line per request (ACCESS_LOG)")
    add("--load-retries", type=int, default=int(env.get("MODEL_LOAD_RETRIES", "3")),
        help="attempts to fetch the model before giving up (MODEL_LOAD_RETRIES)")
    add("--graceful-timeout", type=float, default=float(env.get("GRACEFUL_TIMEOUT_SECONDS", "30")),
        help="seconds to finish in-flight requests after SIGTERM (GRACEFUL_TIMEOUT_SECONDS)")
    add("--numeric-threads", type=int, default=int(env["NUMERIC_THREADS"]) if "NUMERIC_THREADS" in env else None,
        help="BLAS/OpenMP threads per worker; default: usable cores / workers (NUMERIC_THREADS)")
    add("--requirements-check", choices=["strict", "warn", "off"], default=env.get("REQUIREMENTS_CHECK", "warn"),
        help="the model's requirements.txt vs installed packages: fail, warn or skip (REQUIREMENTS_CHECK)")
    return parser


def parse_settings(argv: list[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    parser = build_parser(env)
    args = parser.parse_args(argv)
    if not args.model_uri:
        parser.error("a model is required: --model-uri or MODEL_URI")
    if args.workers < 1 or args.max_batch_size < 1:
        parser.error("--workers and --max-batch-size must be at least 1")
    if args.numeric_threads is None:
        args.numeric_threads = _default_numeric_threads(args.workers)
    return Settings(**vars(args))
