"""The model server's settings: one table gives each its field, flags, environment variable, type, default and
meaning.  The command-line parser is built from it, and `environment()` renders it back into the variables a
container needs, so the stack and the server cannot name a setting differently."""

import argparse
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    model_uri: str
    host: str
    port: int
    workers: int
    model_name: str | None
    batching: bool | None
    max_batch_size: int
    max_batch_wait_ms: float
    request_timeout: float
    read_timeout: float
    keep_alive_timeout: float
    max_connections: int
    max_body_bytes: int
    memory_budget_bytes: int
    access_log: bool
    load_retries: int
    graceful_timeout: float
    numeric_threads: int
    requirements_check: str


@dataclass(frozen=True)
class Setting:
    """One row of the table.  `default` None means unset (the parser decides, or the value stays None)."""

    field: str
    flags: tuple[str, ...]
    variable: str
    type: type
    default: Any
    meaning: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def read(self, raw: str) -> Any:
        """The value of the variable's text; ValueError says what is allowed."""
        if self.type is bool:
            if raw.lower() not in TRUE_WORDS + FALSE_WORDS:
                raise ValueError(f"expected one of {sorted(TRUE_WORDS + FALSE_WORDS)}")
            return raw.lower() in TRUE_WORDS
        try:
            value = self.type(raw)
        except ValueError:
            raise ValueError(f"expected {'an integer' if self.type is int else 'a number'}") from None
        self.check(value)
        return value

    def check(self, value: Any) -> None:
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"expected one of {list(self.choices)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("expected a finite number")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"expected at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"expected at most {self.maximum:g}")

    def render(self, value: Any) -> str:
        """The text `read` turns back into `value`; ValueError if `value` is not of this setting's type."""
        accepted = (int, float) if self.type is float else (self.type,)
        if not isinstance(value, accepted) or (isinstance(value, bool) and self.type is not bool):
            raise ValueError(f"setting {self.field}: {value!r} is not a {self.type.__name__}")
        try:
            self.check(value)
        except ValueError as error:
            raise ValueError(f"setting {self.field}: {value!r}: {error}") from None
        if self.type is bool:
            return "true" if value else "false"
        return repr(value) if isinstance(value, float) else str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting("model_uri", ("--model-uri", "-m"), "MODEL_URI", str, None,
            "models:/name@alias, models:/name/3, runs:/id/path or a path"),
    Setting("host", ("--host", "-H"), "HOST", str, "127.0.0.1", "bind address"),
    Setting("port", ("--port", "-p"), "PORT", int, 8080, "bind port", minimum=0, maximum=65535),
    Setting("workers", ("--workers", "-w"), "WORKERS", int, 1, "worker processes", minimum=1),
    Setting("model_name", ("--model-name",), "MODEL_NAME", str, None,
            "name in /version and V2 paths; default: the registered name or the directory's"),
    Setting("batching", ("--batching",), "BATCHING", bool, None,
            "combine concurrent requests into one model call; default: only for flavors whose predictions are known "
            "to be row by row (serving.model.ROW_INDEPENDENT_FLAVORS)"),
    Setting("max_batch_size", ("--max-batch-size",), "MAX_BATCH_SIZE", int, 64, "most requests in one model call",
            minimum=1),
    Setting("max_batch_wait_ms", ("--max-batch-wait-ms",), "MAX_BATCH_WAIT_MS", float, 0.0,
            "how long an idle model waits for more requests; 0 never delays a lone request", minimum=0),
    Setting("request_timeout", ("--request-timeout",), "REQUEST_TIMEOUT_SECONDS", float, 60.0,
            "seconds before a prediction answers 504, counted once the request is read", minimum=0),
    Setting("read_timeout", ("--read-timeout",), "READ_TIMEOUT_SECONDS", float, 30.0,
            "seconds a client has to send a whole request (headers and body) from its first byte, or from "
            "connecting; past it the client gets 408 and the connection is closed", minimum=0.001),
    Setting("keep_alive_timeout", ("--keep-alive-timeout",), "KEEP_ALIVE_TIMEOUT_SECONDS", float, 5.0,
            "seconds an idle keep-alive connection stays open", minimum=0.001),
    Setting("max_connections", ("--max-connections",), "MAX_CONNECTIONS", int, 256,
            "connections or requests in flight per worker; past it requests answer 503", minimum=1),
    Setting("max_body_bytes", ("--max-body-bytes",), "MAX_BODY_BYTES", int, 16 * 1024 * 1024,
            "larger request bodies answer 413", minimum=1),
    Setting("memory_budget_bytes", ("--memory-budget-bytes",), "MEMORY_BUDGET_BYTES", int, 384 * 1024 * 1024,
            "bytes the requests in flight may cost a worker (bodies, parsed values, frames), estimated before "
            "parsing; one request over it answers 413, one that would take the worker over it 503", minimum=1),
    Setting("access_log", ("--access-log",), "ACCESS_LOG", bool, True, "one JSON line per request"),
    Setting("load_retries", ("--load-retries",), "MODEL_LOAD_RETRIES", int, 3,
            "attempts to fetch the model before giving up", minimum=1),
    Setting("graceful_timeout", ("--graceful-timeout",), "GRACEFUL_TIMEOUT_SECONDS", float, 30.0,
            "seconds to finish in-flight requests after SIGTERM", minimum=0),
    Setting("numeric_threads", ("--numeric-threads",), "NUMERIC_THREADS", int, None,
            "BLAS/OpenMP threads per worker; default: usable cores / workers", minimum=1),
    Setting("requirements_check", ("--requirements-check",), "REQUIREMENTS_CHECK", str, "warn",
            "the model's requirements.txt against the installed packages: strict (fail), warn or off",
            choices=("strict", "warn", "off")),
)
BY_FIELD = {setting.field: setting for setting in SETTINGS}


def environment(values: Mapping[str, object]) -> dict[str, str]:
    """The environment variables that make parse_settings() yield these values; keys are Settings field names."""
    rendered = {}
    for field, value in values.items():
        if field not in BY_FIELD:
            raise KeyError(f"unknown model server setting {field!r}; known: {sorted(BY_FIELD)}")
        setting = BY_FIELD[field]
        if value is None and setting.default is None:
            continue  # unset is how the parser yields None
        rendered[setting.variable] = setting.render(value)
    return rendered


def reference_table() -> str:
    """The settings as a Markdown table, for docs/serving.md (a test keeps the two equal)."""
    lines = ["| flag | environment variable | type | default | meaning |", "| --- | --- | --- | --- | --- |"]
    for setting in SETTINGS:
        default = "(unset)" if setting.default is None else f"`{setting.default}`"
        kind = "/".join(setting.choices) if setting.choices else setting.type.__name__
        lines.append(f"| `{', '.join(setting.flags)}` | `{setting.variable}` | {kind} | {default} | {setting.meaning} |")
    return "\n".join(lines)


def _default_numeric_threads(workers: int) -> int:
    """Share the cores this process may use among the workers, so model thread pools never oversubscribe."""
    return max(1, len(os.sched_getaffinity(0)) // workers)


def _flag_reader(setting: Setting) -> Callable[[str], Any]:
    """argparse's `type`: its ValueError becomes argparse's one-line 'invalid value' error."""
    def read(raw: str) -> Any:
        try:
            return setting.read(raw)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{raw!r}: {error}") from None
    return read


def _help(setting: Setting) -> str:
    default = "" if setting.default is None else f"; default {setting.default}"
    return f"{setting.meaning} ({setting.variable}{default})"


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m serving", description="Serve one MLflow model over HTTP.")
    for setting in SETTINGS:
        default = setting.default
        if setting.variable in env:
            try:
                default = setting.read(env[setting.variable])
            except ValueError as error:
                parser.error(f"{setting.variable}={env[setting.variable]!r}: {error}")
        options: dict[str, Any] = {"dest": setting.field, "default": default, "help": _help(setting)}
        if setting.type is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = _flag_reader(setting)
            options["metavar"] = setting.variable
        parser.add_argument(*setting.flags, **options)
    return parser


def parse_settings(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    parser = build_parser(env)
    args = parser.parse_args(argv)
    if not args.model_uri:
        parser.error("a model is required: --model-uri or MODEL_URI")
    if args.numeric_threads is None:
        args.numeric_threads = _default_numeric_threads(args.workers)
    return Settings(**vars(args))
