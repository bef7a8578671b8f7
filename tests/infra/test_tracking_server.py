"""TrackingServer under mocks: MLflow with basic auth, metrics, host checks and its store on a volume for `local`."""
from infra.render import unwrapped

from .conftest import one


def _container(rendered):
    return one(rendered, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]


def _flag(command, name):
    return command[command.index(name) + 1]


def test_sqlite_backend_on_a_volume_runs_one_replica_replaced_not_rolled(local_stack):
    spec = one(local_stack, "Deployment", "mlflow")["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    claim = one(local_stack, "PersistentVolumeClaim", "mlflow-data")
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "mlflow-data"


def test_server_runs_basic_auth_metrics_and_proxied_artifacts(local_stack):
    command = _container(local_stack)["command"]
    assert command[:2] == ["mlflow", "server"]
    assert _flag(command, "--app-name") == "basic-auth"
    assert _flag(command, "--workers") == "2"
    assert _flag(command, "--artifacts-destination") == "/mlflow/artifacts"
    assert "--serve-artifacts" in command and "--expose-prometheus" in command
    assert not any("sqlite" in part or "postgres" in part for part in command)


def test_allowed_hosts_cover_every_in_cluster_name_of_the_service(local_stack):
    hosts = _flag(_container(local_stack)["command"], "--allowed-hosts").split(",")
    for name in ("mlflow", "mlflow.mlflow", "mlflow.mlflow.svc", "mlflow.mlflow.svc.cluster.local"):
        assert name in hosts and f"{name}:5000" in hosts
    assert "*" not in hosts


def test_backend_uri_admin_password_and_session_key_reach_the_pod_only_from_the_secret(local_stack):
    env = {e["name"]: e for e in _container(local_stack)["env"]}
    for key in ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "mlflow", "key": key}


def test_service_is_cluster_ip_on_the_mlflow_port(local_stack):
    spec = one(local_stack, "Service", "mlflow")["spec"]
    assert spec["type"] == "ClusterIP" and spec["ports"][0]["port"] == 5000


def test_clients_are_the_model_and_monitoring_namespaces(local_stack):
    allow = one(local_stack, "NetworkPolicy", "mlflow")
    values = allow["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
    assert values == ["models"]  # Prometheus reads the metrics port only


def test_probes_use_the_unauthenticated_health_endpoint(local_stack):
    container = _container(local_stack)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}


def test_mlflows_job_runner_is_off_so_the_server_fits_its_memory_limit(local_stack):
    env = {e["name"]: e.get("value") for e in _container(local_stack)["env"]}
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"


def _pod(rendered):
    return one(rendered, "Deployment", "mlflow")["spec"]["template"]


def test_the_user_sync_runs_before_the_server_with_the_passwords_from_the_tracking_secret(local_stack):
    (sync,) = _pod(local_stack)["spec"]["initContainers"]
    assert sync["command"] == ["python", "/etc/mlstack/sync_users.py"]
    env = {e["name"]: e for e in sync["env"]}
    assert env["MLSTACK_READER_USERNAME"]["value"] == "model-server"
    for key in ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLSTACK_READER_PASSWORD"):
        assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "mlflow", "key": key}
    assert {m["name"] for m in sync["volumeMounts"]} >= {"auth", "data", "scripts"}


def test_a_new_password_changes_the_pod_template_so_the_user_sync_runs_again(local_stack):
    from infra.k8s.tracking_server import CREDENTIALS_ANNOTATION, _credentials_digest

    digest = _pod(local_stack)["metadata"]["annotations"][CREDENTIALS_ANNOTATION]
    (secret_resource,) = [r for r in local_stack.of_type("kubernetes:core/v1:Secret") if r.name == "tracking-secret"]
    secret = unwrapped(secret_resource.inputs["stringData"])
    assert digest == _credentials_digest([secret["MLFLOW_AUTH_ADMIN_PASSWORD"], secret["MLSTACK_READER_PASSWORD"]])
    assert _credentials_digest(["a", "b"]) != _credentials_digest(["a", "c"]) != _credentials_digest(["c", "b"])
    assert secret["MLFLOW_AUTH_ADMIN_PASSWORD"][:8] not in digest


def test_metrics_have_their_own_port_that_only_the_monitoring_namespace_reaches(local_stack):
    service_ports = {p["name"]: p["port"] for p in one(local_stack, "Service", "mlflow")["spec"]["ports"]}
    assert service_ports == {"http": 5000, "metrics": 9102}
    rules = one(local_stack, "NetworkPolicy", "mlflow")["spec"]["ingress"]
    callers = {rule["ports"][0]["port"]: rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"] for rule in rules}
    assert callers == {5000: ["models"], 9102: ["monitoring"]}
    monitor = one(local_stack, "ServiceMonitor", "mlflow")["spec"]["endpoints"][0]
    assert monitor["port"] == "metrics" and "basicAuth" not in monitor


def test_no_object_in_the_model_namespace_holds_the_admin_password(rendered_stacks):
    for rendered in rendered_stacks.values():
        admin_password = unwrapped(rendered.outputs["mlflowAdminPassword"].value)
        for resource in rendered.of_type("kubernetes:core/v1:Secret"):
            values = unwrapped(resource.inputs.get("stringData", {}))
            if resource.inputs["metadata"]["namespace"] != "mlflow":
                assert admin_password not in values.values(), resource.name
