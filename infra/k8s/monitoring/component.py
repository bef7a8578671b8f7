"""Monitoring: kube-prometheus-stack (or an existing Prometheus Operator) plus this stack's monitoring objects."""
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ...config.model import MonitoringConfig
from ...contract import MirroredImage
from ..endpoints import ScrapeTarget
from ..meta import labels, metadata
from . import chart, dashboard, isolation, rules
from .scope import ModelScope, Objectives, TrackingScope
from .scrape import API_VERSION, service_monitor

INSTALL = "kube-prometheus-stack"
GRAFANA_ADMIN_SECRET = "grafana-admin"
GRAFANA_ADMIN_USER = "admin"
RULES_NAME = "mlstack-model-service"


@dataclass(frozen=True)
class MonitoringArgs:
    config: MonitoringConfig
    model: ScrapeTarget
    model_workload: str  # the Deployment and HorizontalPodAutoscaler name
    tracking: ScrapeTarget
    storage_class: str | None = None
    # The chart's images as mirrored into the stack's registry (infra/image_mirror.py); None runs upstream's, by tag.
    chart_images: Mapping[str, MirroredImage] | None = None


class Monitoring(pulumi.ComponentResource):
    """With mode kube-prometheus-stack it installs the chart; with existing-operator only the objects below.

    The objects: ServiceMonitors for the model and tracking servers, one PrometheusRule, one dashboard ConfigMap.
    """

    grafana_url: pulumi.Output[str] | None
    grafana_admin_password: pulumi.Output[str] | None

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:monitoring:Monitoring", name, None, opts)
        cfg = args.config
        self.selected_by = {"release": cfg.release}
        self.grafana_url = None
        self.grafana_admin_password = None
        crds_ready = []
        if cfg.mode == INSTALL:
            crds_ready = [self._install(name, args)]
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=crds_ready)

        service_monitor(f"{name}-model-scrape", args.model, self.selected_by, after_crds)
        service_monitor(f"{name}-tracking-scrape", args.tracking, self.selected_by, after_crds)
        model = ModelScope(args.model.namespace, args.model.service_name, args.model_workload)
        tracking = TrackingScope(args.tracking.namespace, args.tracking.service_name)
        objectives = Objectives(cfg.latency_objective_ms, cfg.error_ratio_objective_percent, cfg.expect_traffic)
        self._rules(name, cfg.namespace, rules.rule_groups(model, tracking, objectives), after_crds)
        self._dashboard(name, cfg.namespace, dashboard.build(model), after_crds)
        self.register_outputs({"grafana_url": self.grafana_url, "grafana_admin_password": self.grafana_admin_password})

    def _install(self, name: str, args: MonitoringArgs) -> "k8s.helm.v3.Release":
        cfg = args.config
        namespaces = isolation.namespaces(name, cfg.namespace, pulumi.ResourceOptions(parent=self))
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=namespaces)
        isolation.network_policies(name, cfg.namespace, in_ns)
        sidecar_role = isolation.grafana_sidecar_role(name, cfg.namespace, in_ns)
        password = random.RandomPassword(f"{name}-grafana-admin-password", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        self.grafana_admin_password = pulumi.Output.secret(password.result)
        admin = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=metadata(GRAFANA_ADMIN_SECRET, cfg.namespace, labels("grafana", "dashboards")),
            string_data={chart.GRAFANA_USER_KEY: GRAFANA_ADMIN_USER, chart.GRAFANA_PASSWORD_KEY: self.grafana_admin_password},
            type="Opaque",
            opts=in_ns,
        )
        # helm.v3.Release, not helm.v4.Chart: the chart's admission-webhook certificates are made by Helm hooks,
        # which v4.Chart skips, and Helm installs the CRDs before the templates and tracks upgrades as one
        # release. The Release is also one resource whose values a mock test can read; v4.Chart expands in
        # the provider, so under mocks its objects are invisible.
        release = k8s.helm.v3.Release(
            f"{name}-{chart.CHART}",
            name=cfg.release,
            chart=chart.CHART,
            version=cfg.chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.REPOSITORY),
            namespace=cfg.namespace,
            values=chart.values(cfg, GRAFANA_ADMIN_SECRET, args.storage_class,
                                node_exporter_namespace=isolation.node_exporter_namespace(cfg.namespace),
                                mirrored=args.chart_images),
            max_history=10,
            timeout=900,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*namespaces, admin, sidecar_role]),
        )
        self.grafana_url = pulumi.Output.concat(
            "http://", chart.grafana_service_name(cfg.release), ".", cfg.namespace, ".svc.cluster.local:80")
        return release

    def _rules(self, name: str, namespace: str, groups: list[dict[str, Any]], opts: pulumi.ResourceOptions) -> None:
        k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version=API_VERSION,
            kind="PrometheusRule",
            metadata=metadata(RULES_NAME, namespace, {**labels(RULES_NAME, "alerting-rules"), **self.selected_by}),
            spec={"groups": groups},
            opts=opts,
        )

    def _dashboard(self, name: str, namespace: str, board: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        k8s.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata=metadata(f"{dashboard.UID}-dashboard", namespace, {
                **labels(dashboard.UID, "dashboard"), chart.DASHBOARD_LABEL: chart.DASHBOARD_LABEL_VALUE}),
            data={f"{dashboard.UID}.json": json.dumps(board, indent=1, sort_keys=True)},
            opts=opts,
        )
