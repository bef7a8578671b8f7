"""The image tier: our engine and registry started once per session, stopped by PID at the end, also on failure."""
import os
import time

import pytest

from infra.image import PROJECT_DIR, SERVING, TRACKING, ImageSource
from tests.processes import free_port

from .harness import MIB, REPORT, Container, Engine, PushedImage, run_tool, size_budget_mib

SETUP_TIMEOUT_S = 1800  # a cold debootstrap on two busy cores; the cached path takes seconds
BUILD_TIMEOUT_S = 1800  # a cold pip install of the pins; a warm build reuses every layer
READY_TIMEOUT_S = 180
# Room for two generations of each image's dependency layer (serving about 300 MB, tracking about 800 MB) and their
# builder stages.
BUILD_CACHE_KEPT = "10GB"
SERVING_UID = "10001"
STARTED_CONTAINERS: list[Container] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, show what every container and the engine and registry printed."""
    report = yield
    # The marker, not the keyword: every test under tests/image/ has the keyword "image", the mocked ones too.
    if report.failed and item.get_closest_marker("image"):
        report.sections.extend((f"container {c.container_id[:12]} logs", c.logs()) for c in STARTED_CONTAINERS)
        report.sections.append(("engine and registry logs", run_tool("engine.sh", "logs", timeout_s=30)))
    return report


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("image tier")
        for name, value in REPORT.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def engine() -> Engine:
    run_tool("setup.sh", timeout_s=SETUP_TIMEOUT_S)
    run_tool("engine.sh", "start", timeout_s=300)
    try:
        engine = Engine.from_tool()
        yield engine
        # BuildKit's cache keeps the warm path warm; beyond this it would grow by a generation per change.
        engine.docker_run("builder", "prune", "--force", "--keep-storage", BUILD_CACHE_KEPT, check=False, timeout_s=300)
    finally:
        run_tool("engine.sh", "stop", timeout_s=120)


@pytest.fixture(scope="session")
def base_image(engine) -> str:
    started = time.monotonic()
    tag = run_tool("base.sh", "import", timeout_s=SETUP_TIMEOUT_S).strip().splitlines()[-1]
    REPORT["base image"] = f"{tag} (ready in {time.monotonic() - started:.1f}s)"
    return tag


def ca_bundle_secret() -> list[str]:
    """The host's CA bundle for pip inside the build: on a network whose TLS is inspected, PyPI needs it."""
    bundle = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    return ["--secret", f"id=pip-ca,src={bundle}"] if os.path.isfile(bundle) else []


def build_on_base(engine: Engine, base_image: str, source: ImageSource, tag: str, *build_args: str) -> None:
    """source's Dockerfile built on the local base from the project root, with pip's CA and any other build args."""
    engine.docker_run("build", "--network=host", *ca_bundle_secret(), "--build-arg", f"BASE_IMAGE={base_image}",
                      *(flag for arg in build_args for flag in ("--build-arg", arg)),
                      "--file", str(source.dockerfile), "--tag", tag, str(PROJECT_DIR), timeout_s=BUILD_TIMEOUT_S)


def pushed_and_pulled_back(engine: Engine, base_image: str, source: ImageSource, repository: str) -> PushedImage:
    """source built on the local base, pushed, deleted locally and pulled back by digest; timings in the report."""
    tag = f"{engine.registry}/{repository}:{source.tag()}"
    started = time.monotonic()
    build_on_base(engine, base_image, source, tag)
    build_seconds = time.monotonic() - started
    started = time.monotonic()
    engine.docker_run("push", tag, timeout_s=600)
    REPORT[f"{repository} push"] = f"{time.monotonic() - started:.1f}s"
    ref = engine.output("image", "inspect", "--format", "{{index .RepoDigests 0}}", tag)
    built_id = engine.output("image", "inspect", "--format", "{{.Id}}", tag)
    engine.docker_run("image", "rm", tag)
    assert engine.docker_run("image", "inspect", ref, check=False).returncode != 0, "the image outlived its removal"
    started = time.monotonic()
    engine.docker_run("pull", ref, timeout_s=600)
    REPORT[f"{repository} pull by digest"] = f"{time.monotonic() - started:.1f}s"
    size_bytes = int(engine.output("image", "inspect", "--format", "{{.Size}}", ref))
    REPORT[f"{repository} image"] = ref
    REPORT[f"{repository} image size"] = f"{size_bytes / MIB:.0f} MiB"
    REPORT[f"{repository} build"] = f"{build_seconds:.1f}s"
    return PushedImage(ref, built_id, size_bytes)


@pytest.fixture(scope="session")
def serving_image(engine, base_image) -> PushedImage:
    image = pushed_and_pulled_back(engine, base_image, SERVING, "mlstack-serving")
    REPORT["mlstack-serving image size"] += f" (budget {size_budget_mib()} MiB, tools/image/size-budget)"
    yield image
    # The cached data root would otherwise keep one image per run.
    engine.docker_run("image", "rm", image.ref, check=False)


@pytest.fixture(scope="session")
def tracking_image(engine, base_image) -> PushedImage:
    image = pushed_and_pulled_back(engine, base_image, TRACKING, "mlstack-tracking")
    yield image
    engine.docker_run("image", "rm", image.ref, check=False)


@pytest.fixture(scope="session")
def churn_model_dir(tmp_path_factory):
    """The example churn pipeline logged and registered in a local SQLite MLflow store, its model files exported."""
    import mlflow

    from examples.train_and_register import train_and_register

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment("churn", artifact_location=(root / "artifacts").as_uri())
    model_uri = train_and_register(uri, "churn", "champion", max_iter=30, seed=0)
    exported = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(root / "export"))
    readable_by_everyone(exported)
    return exported


def readable_by_everyone(directory: str) -> None:
    """The container's uid 10001 owns nothing on the host."""
    for parent, _, files in os.walk(directory):
        os.chmod(parent, 0o755)
        for name in files:
            os.chmod(os.path.join(parent, name), 0o644)



@pytest.fixture(scope="session")
def serving_container(engine, serving_image, churn_model_dir) -> Container:
    """The pulled image as Kubernetes runs it: read-only root, uid 10001, no capabilities, a tmpfs for /tmp."""
    port = free_port()
    container_id = engine.output(
        "run", "--detach", "--network", "host", "--read-only", "--tmpfs", "/tmp:rw,size=256m",
        "--user", f"{SERVING_UID}:{SERVING_UID}", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--volume", f"{churn_model_dir}:/models/churn:ro",
        "--env", "MODEL_URI=/models/churn", "--env", "HOST=127.0.0.1", "--env", f"PORT={port}", "--env", "WORKERS=2",
        # MLflow records pytest among the model's requirements when it is logged in the test venv (skops imports
        # it), and the image rightly has no pytest: the requirements check is the server's, proven in tests/serving.
        "--env", "REQUIREMENTS_CHECK=off",
        serving_image.ref,
    )
    container = Container(engine, container_id, port)
    STARTED_CONTAINERS.append(container)
    try:
        started = time.monotonic()
        container.wait_ready(READY_TIMEOUT_S)
        REPORT["mlstack-serving container ready"] = f"{time.monotonic() - started:.1f}s after docker run"
        yield container
    finally:
        container.remove()


@pytest.fixture(scope="session")
def churn_rows():
    from examples.train_and_register import make_churn_frame

    return make_churn_frame(20, seed=7)[0]


@pytest.fixture(scope="session")
def churn_model(churn_model_dir):
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(churn_model_dir)
