"""A model baked into serving/Dockerfile at build time, with a pip requirement the image does not have: the build
installs it from the model's requirements.txt and the container serves the model with no registry and no network."""
import time

import pytest
import requests

from infra.image import SERVING
from tests.processes import free_port

from .conftest import READY_TIMEOUT_S, SERVING_UID, STARTED_CONTAINERS, build_on_base, readable_by_everyone
from .harness import MIB, REPORT, Container

pytestmark = pytest.mark.image

EXTRA_REQUIREMENT = "text-unidecode==1.3"  # pure Python, no dependencies, in no lock of this project
MODEL_CODE = '''
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class Transliterate(PythonModel):
    def predict(self, context, model_input, params=None):
        from text_unidecode import unidecode

        return pd.DataFrame({"ascii": [unidecode(name) for name in model_input["name"]]})


mlflow.models.set_model(Transliterate())
'''
NAMES = ["Zürich", "Ærøskøbing", "naïve café"]
TRANSLITERATED = ["Zurich", "AEroskobing", "naive cafe"]  # what text-unidecode 1.3 answers


@pytest.fixture(scope="module")
def model_with_extra_requirement(tmp_path_factory):
    """A models-from-code pyfunc (no pickled class the image could not import) needing text-unidecode to predict."""
    import cloudpickle
    import mlflow.pyfunc

    root = tmp_path_factory.mktemp("baked")
    (root / "transliterate.py").write_text(MODEL_CODE)
    mlflow.pyfunc.save_model(str(root / "model"), python_model=str(root / "transliterate.py"), pip_requirements=[
        f"mlflow=={mlflow.__version__}", f"cloudpickle=={cloudpickle.__version__}", EXTRA_REQUIREMENT])
    readable_by_everyone(str(root / "model"))
    return root / "model"


@pytest.fixture(scope="module")
def baked_image(engine, base_image, model_with_extra_requirement, tmp_path_factory) -> str:
    """The model directory as an image of its own, passed as MODEL_IMAGE: Debian's Docker 20.10 has no buildx for
    --build-context model=DIR, which replaces the same stage."""
    holder = tmp_path_factory.mktemp("model-image") / "Dockerfile"
    holder.write_text("FROM scratch\nCOPY . /\n")
    model_tag, tag = "mlstack-test-model:transliterate", "mlstack-serving-baked:test"
    engine.docker_run("build", "--file", str(holder), "--tag", model_tag, str(model_with_extra_requirement))
    started = time.monotonic()
    build_on_base(engine, base_image, SERVING, tag,
                  "MODEL_SOURCE=baked", f"MODEL_IMAGE={model_tag}", "BAKED_MODEL_URI=/opt/model")
    size = int(engine.output("image", "inspect", "--format", "{{.Size}}", tag)) / MIB
    REPORT["mlstack-serving with a baked model"] = f"{size:.0f} MiB, built in {time.monotonic() - started:.1f}s"
    yield tag
    engine.docker_run("image", "rm", tag, model_tag, check=False)


@pytest.fixture(scope="module")
def baked_container(engine, baked_image) -> Container:
    """Hardened as the pod runs, with no network but the host's loopback, and the requirements check strict: the
    model's `mlflow` requirement is met by mlflow-skinny and its extra one by the baked install."""
    port = free_port()
    container_id = engine.output(
        "run", "--detach", "--network", "host", "--read-only", "--tmpfs", "/tmp:rw,size=256m",
        "--user", f"{SERVING_UID}:{SERVING_UID}", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--env", "HOST=127.0.0.1", "--env", f"PORT={port}", "--env", "REQUIREMENTS_CHECK=strict", baked_image)
    container = Container(engine, container_id, port)
    STARTED_CONTAINERS.append(container)
    try:
        container.wait_ready(READY_TIMEOUT_S)
        yield container
    finally:
        container.remove()


def _imports_the_extra_requirement(engine, image: str) -> bool:
    found = engine.docker_run("run", "--rm", "--network", "none", "--entrypoint", "python", image,
                              "-c", "import text_unidecode", check=False)
    return found.returncode == 0


def test_the_extra_requirement_is_in_the_baked_image_and_not_in_the_plain_one(engine, serving_image, baked_image):
    assert (_imports_the_extra_requirement(engine, serving_image.ref),
            _imports_the_extra_requirement(engine, baked_image)) == (False, True)


def test_the_baked_model_serves_predictions_that_need_its_extra_requirement(baked_container):
    response = requests.post(f"{baked_container.url}/invocations",
                             json={"dataframe_split": {"columns": ["name"], "data": [[name] for name in NAMES]}},
                             timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == [{"ascii": ascii_name} for ascii_name in TRANSLITERATED]


def test_the_baked_image_ships_no_pip_after_installing_the_models_requirements(engine, baked_image):
    found = engine.compilers_then(baked_image, "ls /opt/venv/bin | grep '^pip'; python -m pip --version 2>&1 | "
                                               "grep -c 'No module named pip'")
    assert found == ["1"], f"compilers or pip in the baked image: {found}"


def test_a_plain_build_after_the_baked_one_is_the_plain_image_again(engine, base_image, serving_image, baked_image):
    """The builder cache now holds the baked build's model steps; a plain build must take none of them (Docker 20.10's
    BuildKit once reused the model layer when both variants shared the step that copies the model)."""
    tag = "mlstack-serving-plain-again:test"
    build_on_base(engine, base_image, SERVING, tag)
    try:
        rebuilt_id = engine.output("image", "inspect", "--format", "{{.Id}}", tag)
        has_model = engine.docker_run("run", "--rm", "--network", "none", "--entrypoint", "test", tag,
                                      "-e", "/opt/model", check=False).returncode == 0
    finally:
        engine.docker_run("image", "rm", tag, check=False)
    assert (has_model, rebuilt_id) == (False, serving_image.image_id)
