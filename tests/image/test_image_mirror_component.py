"""ImageMirror under Pulumi mocks: one `FROM <upstream>` build per image, pushed to the stack's registry, and the
digest the stack runs is the one its push reports."""
import pulumi

from infra.config.chart_images import CHART_IMAGES, UpstreamImage
from infra.contract import Registry
from infra.image_mirror import CONTEXT_DIR, ImageMirror, ImageMirrorArgs
from infra.render import HELM_RELEASE, is_secret, run_program, stack_config, unwrapped

IMAGE_TYPE = "docker-build:index:Image"
MIRROR_TYPE = "mlstack:image:ImageMirror"
UPSTREAM = {
    "exporter": UpstreamImage("quay.io", "prometheus/node-exporter", "v1.12.1-distroless"),
    "grafana": UpstreamImage("docker.io", "grafana/grafana", "13.2.0"),
}


def render_mirror(registry: Registry, upstream=UPSTREAM):
    def program() -> dict:
        mirror = ImageMirror("mirror", ImageMirrorArgs(upstream=upstream, registry=registry, prefix="charts"))
        return {f"{key}-{field}": value for key, image in mirror.images.items()
                for field, value in (("digest", image.digest), ("hex", image.digest_hex),
                                     ("repository", image.repository), ("tag", image.tag), ("registry", image.registry))}

    return run_program("test", {}, program)


def builds(rendered) -> dict[str, dict]:
    return {b.name: b for b in rendered.of_type(IMAGE_TYPE)}


def test_one_component_whose_builds_are_its_children_one_per_upstream_image():
    rendered = render_mirror(Registry(address="localhost:5000"))
    (component,) = rendered.of_type(MIRROR_TYPE)
    assert set(builds(rendered)) == {"mirror-exporter", "mirror-grafana"}
    assert all(build.parent == component.urn for build in builds(rendered).values())


def test_each_build_is_from_the_upstream_tag_alone_in_an_empty_context():
    build = unwrapped(builds(render_mirror(Registry(address="localhost:5000")))["mirror-grafana"].inputs)
    assert build["dockerfile"] == {"inline": "FROM docker.io/grafana/grafana:13.2.0\n"}
    assert build["context"] == {"location": str(CONTEXT_DIR)}
    ignore = [line for line in (CONTEXT_DIR / ".dockerignore").read_text().splitlines() if not line.startswith("#")]
    assert ignore == ["*"]  # nothing of the project enters the build or its hash
    assert [p.name for p in CONTEXT_DIR.iterdir()] == [".dockerignore"]
    assert build["platforms"] == ["linux/amd64"] and build["push"] is True


def test_the_mirror_is_pushed_under_the_prefix_with_the_upstream_path_and_tag():
    build = unwrapped(builds(render_mirror(Registry(address="localhost:5000")))["mirror-exporter"].inputs)
    assert build["tags"] == ["localhost:5000/charts/prometheus/node-exporter:v1.12.1-distroless"]


def test_the_mirrored_image_carries_the_digest_its_push_reported():
    rendered = render_mirror(Registry(address="localhost:5000"))
    reported = builds(rendered)["mirror-exporter"].outputs["digest"]
    outputs = {name: exported.value for name, exported in rendered.outputs.items()}
    assert reported.startswith("sha256:") and len(reported) == len("sha256:") + 64
    assert outputs["exporter-digest"] == reported
    assert outputs["exporter-hex"] == reported.removeprefix("sha256:")
    assert (outputs["exporter-registry"], outputs["exporter-repository"], outputs["exporter-tag"]) == (
        "localhost:5000", "charts/prometheus/node-exporter", "v1.12.1-distroless")


def test_the_push_logs_in_with_the_registrys_secret_credentials_only_where_it_has_them():
    anonymous = builds(render_mirror(Registry(address="localhost:5000")))["mirror-grafana"].inputs
    assert not unwrapped(anonymous.get("registries"))
    registry = Registry(address="europe-west1-docker.pkg.dev/p/r", username="oauth2accesstoken",
                        password=pulumi.Output.secret("token"))
    logins = builds(render_mirror(registry))["mirror-grafana"].inputs["registries"]
    assert is_secret(logins)
    assert unwrapped(logins) == [{"address": "europe-west1-docker.pkg.dev/p/r", "username": "oauth2accesstoken",
                                  "password": "token"}]


def _release_values(rendered) -> dict:
    (release,) = [unwrapped(r.inputs) for r in rendered.of_type(HELM_RELEASE)]
    return release["values"]


def test_the_stack_mirrors_every_image_of_its_chart_version_into_its_registry():
    rendered = run_program("local", stack_config("local"))
    (mirror,) = rendered.of_type(MIRROR_TYPE)
    mirrored = [unwrapped(b.inputs) for b in rendered.of_type(IMAGE_TYPE) if b.parent == mirror.urn]
    expected = {f"FROM {image.ref}\n" for image in CHART_IMAGES["88.5.3"].values()}
    assert {b["dockerfile"]["inline"] for b in mirrored} == expected
    assert all(b["tags"][0].startswith("localhost:5000/kube-prometheus-stack/") for b in mirrored)
    operator = _release_values(rendered)["prometheusOperator"]["image"]
    assert (operator["registry"], operator["repository"], operator["tag"]) == (
        "localhost:5000", "kube-prometheus-stack/prometheus-operator/prometheus-operator", "v0.93.1")


def test_a_stack_that_builds_no_images_mirrors_nothing_and_leaves_the_charts_images_alone():
    prebuilt = "registry.example.com/team/mlstack-serving@sha256:" + "1" * 64
    rendered = run_program("local", stack_config("local", {"imageBuild": "false", "image": prebuilt}))
    assert not rendered.of_type(MIRROR_TYPE) and not rendered.of_type(IMAGE_TYPE)
    values = _release_values(rendered)
    assert "image" not in values["prometheusOperator"] and "image" not in values["grafana"]


def test_a_stack_that_installs_no_chart_mirrors_nothing():
    rendered = run_program("local", stack_config("local", {"monitoring": "existing-operator"}))
    assert not rendered.of_type(MIRROR_TYPE)
