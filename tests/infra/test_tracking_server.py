"""TrackingServer under mocks: MLflow with basic auth, metrics, host checks and its store on a volume for `local`."""
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
    assert values == ["models", "monitoring"]


def test_probes_use_the_unauthenticated_health_endpoint(local_stack):
    container = _container(local_stack)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}


def test_mlflows_job_runner_is_off_so_the_server_fits_its_memory_limit(local_stack):
    env = {e["name"]: e.get("value") for e in _container(local_stack)["env"]}
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
