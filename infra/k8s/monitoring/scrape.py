"""ServiceMonitors: which Services Prometheus scrapes, on which port and path, with which credentials."""
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..endpoints import BasicAuth, ScrapeTarget
from ..meta import labels, metadata

API_VERSION = "monitoring.coreos.com/v1"
SCRAPE_INTERVAL = "30s"
AUTH_USERNAME_KEY = "username"
AUTH_PASSWORD_KEY = "password"


def auth_secret_name(service_name: str) -> str:
    return f"{service_name}-metrics-auth"


def service_monitor(resource_name: str, target: ScrapeTarget, selected_by: Mapping[str, str],
                    opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """A ServiceMonitor for `target`, labelled with what the Prometheus's serviceMonitorSelector asks for."""
    endpoint: dict[str, Any] = {"port": target.port_name, "path": target.path, "interval": SCRAPE_INTERVAL, "scheme": "http"}
    if target.basic_auth is not None:
        secret = _auth_secret(resource_name, target, target.basic_auth, opts)
        endpoint["basicAuth"] = {
            key: {"name": secret.metadata.name, "key": key} for key in (AUTH_USERNAME_KEY, AUTH_PASSWORD_KEY)
        }
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=API_VERSION,
        kind="ServiceMonitor",
        metadata=metadata(target.service_name, target.namespace,
                          {**labels(target.service_name, "service-monitor"), **selected_by}),
        spec=_spec(target, endpoint),
        opts=_after_service(target, opts),
    )


def _spec(target: ScrapeTarget, endpoint: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(target.service_labels)},
        "namespaceSelector": {"matchNames": [target.namespace]},
        "endpoints": [endpoint],
    }
    if target.pod_labels:
        # The operator names each series label after the pod label, sanitised: mlstack.io/track -> mlstack_io_track.
        spec["podTargetLabels"] = list(target.pod_labels)
    return spec


def _auth_secret(resource_name: str, target: ScrapeTarget, auth: BasicAuth, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    """The ServiceMonitor reads its credentials from a Secret in its own namespace, so they are copied here."""
    return k8s.core.v1.Secret(
        f"{resource_name}-auth",
        metadata=metadata(auth_secret_name(target.service_name), target.namespace,
                          labels(target.service_name, "scrape-credentials")),
        string_data={AUTH_USERNAME_KEY: auth.username, AUTH_PASSWORD_KEY: auth.password},
        type="Opaque",
        opts=_after_service(target, opts),
    )


def _after_service(target: ScrapeTarget, opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    extra: Sequence[pulumi.Resource] = [target.service] if target.service is not None else []
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(extra)))
