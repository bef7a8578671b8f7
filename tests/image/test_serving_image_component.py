"""ContainerImage of serving/ under Pulumi mocks: what it asks BuildKit to build, where it pushes, and what the Deployment runs."""
import re

import pulumi

from infra.config.model import ImageConfig
from infra.contract import Registry
from infra.image import PROJECT_DIR, SERVING, ContainerImage, ContainerImageArgs, context_hash
from infra.render import is_secret, run_program, stack_config, unwrapped

IMAGE_TYPE = "docker-build:index:Image"
DIGEST_REF = re.compile(r"^(?P<repository>[^@]+)@sha256:[0-9a-f]{64}$")
BUILT = ImageConfig(build=True, prebuilt="", repository="team/mlstack-serving", base="")


def render_component(config: ImageConfig, registry: Registry):
    def program() -> dict:
        return {"image": ContainerImage("serving-image", ContainerImageArgs(SERVING, config, registry)).ref}

    return run_program("test", {}, program)


def the_build(rendered) -> dict:
    builds = rendered.of_type(IMAGE_TYPE)
    assert len(builds) == 1
    return builds[0].inputs


def render_local_stack(**values):
    return run_program("local", {**stack_config("local"), **values})


def deployed_image(rendered) -> str:
    [deployment] = [o for o in rendered.kubernetes_objects()
                    if o["kind"] == "Deployment" and o["metadata"]["name"] == "model-server"]
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def test_builds_serving_dockerfile_from_the_project_root_for_linux_amd64_and_pushes():
    build = unwrapped(the_build(render_component(BUILT, Registry(address="localhost:5000"))))
    assert build["context"] == {"location": str(PROJECT_DIR)}
    assert build["dockerfile"] == {"location": str(SERVING.dockerfile)}
    assert build["platforms"] == ["linux/amd64"]
    assert build["push"] is True


def test_tag_is_the_registry_repository_and_a_hash_of_the_build_context():
    build = unwrapped(the_build(render_component(BUILT, Registry(address="localhost:5000"))))
    assert build["tags"] == [f"localhost:5000/team/mlstack-serving:{context_hash(SERVING.directory)[:16]}"]


def test_only_serving_enters_the_build_context_so_its_hash_covers_the_build():
    lines = SERVING.dockerignore.read_text().splitlines()
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"
    assert all(rule.startswith("!serving/") for rule in rules if rule.startswith("!"))


def test_context_hash_changes_with_a_file_and_ignores_bytecode_caches(tmp_path):
    (tmp_path / "app.py").write_text("print(1)\n")
    first = context_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0compiled")
    assert context_hash(tmp_path) == first
    (tmp_path / "app.py").write_text("print(2)\n")
    assert context_hash(tmp_path) != first


def test_base_image_is_passed_as_a_build_argument_only_when_configured():
    registry = Registry(address="localhost:5000")
    assert "buildArgs" not in unwrapped(the_build(render_component(BUILT, registry)))
    local_base = ImageConfig(build=True, prebuilt="", repository="mlstack-serving", base="mlstack-base/python:3.11")
    assert unwrapped(the_build(render_component(local_base, registry)))["buildArgs"] == {"BASE_IMAGE": "mlstack-base/python:3.11"}


def test_build_cache_is_read_from_and_written_to_the_same_registry_repository():
    build = unwrapped(the_build(render_component(BUILT, Registry(address="localhost:5000"))))
    cache_ref = "localhost:5000/team/mlstack-serving:buildcache"
    assert build["cacheFrom"] == [{"registry": {"ref": cache_ref}}]
    assert build["cacheTo"][0]["registry"]["ref"] == cache_ref
    assert build["cacheTo"][0]["registry"]["mode"] == "max"


def under_a_secret(value, *path) -> bool:
    """Whether the value at path, or anything that contains it, is a Pulumi secret."""
    for key in path:
        if is_secret(value):
            return True
        value = value[key]
    return is_secret(value)


def test_registry_password_reaches_the_build_only_as_a_secret():
    registry = Registry(address="europe-docker.pkg.dev/project/ml", username="oauth2accesstoken",
                        password=pulumi.Output.secret("token-from-the-platform"))
    build = the_build(render_component(BUILT, registry))
    assert under_a_secret(build, "registries", 0, "password")
    assert unwrapped(build["registries"]) == [{"address": "europe-docker.pkg.dev/project/ml",
                                               "username": "oauth2accesstoken", "password": "token-from-the-platform"}]


def test_a_registry_without_credentials_gets_no_login():
    build = the_build(render_component(BUILT, Registry(address="localhost:5000")))
    assert not build.get("registries")


def test_the_component_exports_the_pushed_reference_by_digest():
    rendered = render_component(BUILT, Registry(address="localhost:5000"))
    match = DIGEST_REF.match(rendered.outputs["image"].value)
    assert match and match["repository"] == "localhost:5000/team/mlstack-serving"


def test_deployment_runs_the_built_digest_and_a_changed_build_changes_it():
    unchanged = render_local_stack()
    assert deployed_image(unchanged) == unchanged.outputs["image"].value
    assert DIGEST_REF.match(deployed_image(unchanged))
    assert deployed_image(render_local_stack()) == deployed_image(unchanged)
    rebuilt = render_local_stack(imageBase="mlstack-base/python:3.11")
    assert deployed_image(rebuilt) == rebuilt.outputs["image"].value
    assert deployed_image(rebuilt) != deployed_image(unchanged)


def test_prebuilt_reference_is_deployed_as_given_with_no_build_and_no_push():
    prebuilt = "registry.example.com/ml/server@sha256:" + "c" * 64
    rendered = render_component(ImageConfig(build=False, prebuilt=prebuilt, repository="unused", base=""),
                                Registry(address="localhost:5000", password=pulumi.Output.secret("unused")))
    assert not rendered.of_type(IMAGE_TYPE)
    assert rendered.outputs["image"].value == prebuilt
    stack = render_local_stack(imageBuild="false", image=prebuilt)
    assert deployed_image(stack) == prebuilt
