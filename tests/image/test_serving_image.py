"""serving/Dockerfile built on a local base, pushed to a local registry, pulled back by digest and run hardened."""
import hashlib
import json

import pytest
import requests

from .harness import MIB, REPORT, size_budget_mib

pytestmark = pytest.mark.image

MANIFEST_TYPES = ("application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json")


def test_image_pulled_back_by_digest_is_the_image_that_was_built(engine, serving_image):
    assert serving_image.ref.startswith(f"{engine.registry}/mlstack-serving@sha256:")
    assert engine.output("image", "inspect", "--format", "{{.Id}}", serving_image.ref) == serving_image.image_id


def test_registry_serves_the_manifest_by_digest_and_every_blob_it_names(engine, serving_image):
    """The engine's own layers satisfy the pull, so ask the registry itself for everything the digest names."""
    repository, digest = serving_image.ref.split("@")
    base_url = f"http://{engine.registry}/v2/{repository.split('/', 1)[1]}"
    manifest = requests.get(f"{base_url}/manifests/{digest}", headers={"Accept": ", ".join(MANIFEST_TYPES)}, timeout=30)
    assert manifest.status_code == 200
    assert "sha256:" + hashlib.sha256(manifest.content).hexdigest() == digest
    blobs = [manifest.json()["config"], *manifest.json()["layers"]]
    for blob in blobs:
        stored = requests.head(f"{base_url}/blobs/{blob['digest']}", timeout=30)
        assert (stored.status_code, int(stored.headers["Content-Length"])) == (200, blob["size"]), blob["digest"]


def test_image_runs_as_uid_10001_and_ships_no_compiler(engine, serving_image):
    assert engine.configured_uid(serving_image.ref) == "10001"
    found = engine.compilers_then(serving_image.ref, "id -u")
    assert found == ["10001"], f"compilers in the final image: {found}"


def test_image_ships_no_pip_in_its_venv_or_its_base(engine, serving_image):
    # The venv's python first on PATH, then the base's own, wherever the base keeps it.
    probe = ("for py in python /usr/local/bin/python3 /usr/bin/python3; do "
             "command -v $py >/dev/null && $py -m pip --version >/dev/null 2>&1 && echo \"$py has pip\"; done; "
             "ls /opt/venv/bin | grep '^pip'; id -u")
    found = engine.compilers_then(serving_image.ref, probe)
    assert found == ["10001"], f"compilers or pip in the final image: {found}"


def test_image_size_stays_within_the_recorded_budget(serving_image):
    size_mib = serving_image.size_bytes / MIB
    assert size_mib <= size_budget_mib(), (
        f"the serving image is {size_mib:.0f} MiB, over the {size_budget_mib()} MiB of tools/image/size-budget")


def test_ready_answers_with_the_mounted_mlflow_model_loaded(serving_container, churn_model_dir):
    from mlflow.models import Model

    assert requests.get(f"{serving_container.url}/ready", timeout=10).status_code == 200
    version = requests.get(f"{serving_container.url}/version", timeout=10).json()
    assert (version["model_name"], version["run_id"]) == ("churn", Model.load(churn_model_dir).run_id)


def test_invocations_predict_what_the_model_predicts_in_process(serving_container, churn_model, churn_rows):
    response = requests.post(f"{serving_container.url}/invocations",
                             json={"dataframe_split": churn_rows.to_dict(orient="split", index=False)}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == churn_model.predict(churn_rows).tolist()


def test_metrics_count_the_invocations_the_container_answered(serving_container, churn_rows):
    row = {"dataframe_records": churn_rows.head(1).to_dict(orient="records")}
    for _ in range(3):
        assert requests.post(f"{serving_container.url}/invocations", json=row, timeout=30).status_code == 200
    metrics = requests.get(f"{serving_container.url}/metrics", timeout=10)
    assert metrics.status_code == 200
    answered = [line for line in metrics.text.splitlines()
                if line.startswith("mlstack_http_requests_total{") and 'route="/invocations"' in line
                and 'status="200"' in line]
    assert answered and float(answered[0].rsplit(" ", 1)[1]) >= 3, metrics.text


def test_root_filesystem_is_read_only_and_tmp_is_writable(engine, serving_container):
    writes = engine.docker_run(
        "exec", serving_container.container_id, "/bin/sh", "-c",
        "touch /opt/app/probe 2>/dev/null && echo root-writable; touch /tmp/probe && echo tmp-writable; id -u",
    )
    assert writes.stdout.split() == ["tmp-writable", "10001"]


def test_image_has_every_package_mlflow_recorded_for_the_model_but_the_test_runner(engine, serving_container):
    check = ("import json; from serving.requirements_check import check_requirements; "
             "print(json.dumps(check_requirements('/models/churn')))")
    missing, mismatched = json.loads(engine.output("exec", serving_container.container_id, "python", "-c", check))
    assert [line for line in missing if not line.startswith("pytest")] == []
    REPORT["model requirements not matched exactly"] = ", ".join(mismatched) or "none"


def test_parquet_is_refused_as_unsupported_since_the_image_ships_no_pyarrow(serving_container):
    """The 415 a client can act on, not a 500 from a failed import (parquet bytes are never read)."""
    response = requests.post(f"{serving_container.url}/invocations", data=b"PAR1",
                             headers={"Content-Type": "application/vnd.apache.parquet"}, timeout=30)
    assert (response.status_code, response.json()["error_code"]) == (415, "BAD_REQUEST")
    assert "needs pyarrow" in response.json()["message"]
