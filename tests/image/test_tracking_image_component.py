"""The tracking server image in the stack, under Pulumi mocks: what is built from tracking/, and what MLflow runs."""
import re

import pytest

from infra.config import ConfigError, config_from_values
from infra.image import PROJECT_DIR, SERVING, TRACKING, context_hash
from infra.render import run_program, stack_config, unwrapped

IMAGE_TYPE = "docker-build:index:Image"
DIGEST_REF = re.compile(r"^(?P<repository>[^@]+)@sha256:[0-9a-f]{64}$")
UPSTREAM_FULL_IMAGE = "ghcr.io/mlflow/mlflow:v3.17.2-full"
SERVING_PREBUILT = "registry.example.com/ml/server@sha256:" + "c" * 64


def render_local_stack(**values):
    return run_program("local", {**stack_config("local"), **values})


def tracking_container(rendered) -> dict:
    [deployment] = [o for o in rendered.kubernetes_objects()
                    if o["kind"] == "Deployment" and o["metadata"]["name"] == "mlflow"]
    return deployment["spec"]["template"]["spec"]["containers"][0]


def builds_by_dockerfile(rendered) -> dict[str, dict]:
    """The builds of the project's Dockerfiles (the monitoring chart's mirror builds have inline ones)."""
    return {build["dockerfile"]["location"]: build
            for build in (unwrapped(b.inputs) for b in rendered.of_type(IMAGE_TYPE)) if "location" in build["dockerfile"]}


def test_local_stack_builds_tracking_dockerfile_from_the_project_root_beside_the_serving_image():
    builds = builds_by_dockerfile(render_local_stack())
    assert set(builds) == {str(SERVING.dockerfile), str(TRACKING.dockerfile)}
    tracking = builds[str(TRACKING.dockerfile)]
    assert tracking["context"] == {"location": str(PROJECT_DIR)}
    assert tracking["platforms"] == ["linux/amd64"]
    assert tracking["push"] is True


def test_tracking_tag_is_its_own_repository_and_a_hash_of_tracking_only():
    tracking = builds_by_dockerfile(render_local_stack())[str(TRACKING.dockerfile)]
    assert tracking["tags"] == [f"localhost:5000/mlstack-tracking:{context_hash(TRACKING.directory)[:16]}"]
    assert tracking["cacheFrom"] == [{"registry": {"ref": "localhost:5000/mlstack-tracking:buildcache"}}]
    renamed = builds_by_dockerfile(render_local_stack(trackingImageRepository="team/mlflow"))[str(TRACKING.dockerfile)]
    assert renamed["tags"][0].startswith("localhost:5000/team/mlflow:")


def test_only_the_tracking_requirements_enter_the_build_context():
    lines = TRACKING.dockerignore.read_text().splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"
    assert all(rule.startswith("!tracking/") for rule in rules if rule.startswith("!"))


def test_local_base_image_reaches_the_tracking_build_too():
    tracking = builds_by_dockerfile(render_local_stack(imageBase="mlstack-base/python:3.11"))[str(TRACKING.dockerfile)]
    assert tracking["buildArgs"] == {"BASE_IMAGE": "mlstack-base/python:3.11"}


def test_tracking_deployment_runs_the_built_digest_and_a_changed_build_changes_it():
    unchanged = render_local_stack()
    image = tracking_container(unchanged)["image"]
    match = DIGEST_REF.match(image)
    assert match and match["repository"] == "localhost:5000/mlstack-tracking"
    assert image == unchanged.outputs["trackingImage"].value
    assert image != unchanged.outputs["image"].value
    assert tracking_container(render_local_stack())["image"] == image
    assert tracking_container(render_local_stack(imageBase="mlstack-base/python:3.11"))["image"] != image


def test_without_a_build_the_upstream_full_image_is_deployed_and_nothing_is_built():
    rendered = render_local_stack(imageBuild="false", image=SERVING_PREBUILT)
    assert not rendered.of_type(IMAGE_TYPE)
    assert tracking_container(rendered)["image"] == UPSTREAM_FULL_IMAGE
    assert rendered.outputs["trackingImage"].value == UPSTREAM_FULL_IMAGE


def test_without_a_build_a_configured_tracking_image_is_deployed_as_given():
    prebuilt = "registry.example.com/ml/mlflow@sha256:" + "d" * 64
    rendered = render_local_stack(imageBuild="false", image=SERVING_PREBUILT, trackingImage=prebuilt)
    assert tracking_container(rendered)["image"] == prebuilt


def test_a_tracking_image_is_refused_when_the_stack_builds_one():
    with pytest.raises(ConfigError, match=r"^mlstack:trackingImage = 'registry.example.com/ml/mlflow:1'"):
        config_from_values("test", {"trackingImage": "registry.example.com/ml/mlflow:1"})


def test_the_built_image_pins_the_mlflow_version_the_stack_labels_the_server_with():
    pins = dict(re.findall(r"^([\w.-]+)(?:\[[\w,]+\])?==(\S+)$", (TRACKING.directory / "requirements.txt").read_text(), re.M))
    assert pins["mlflow"] == config_from_values("test", {}).tracking.mlflow_version
