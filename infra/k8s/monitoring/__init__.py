"""Monitoring as code: kube-prometheus-stack, ServiceMonitors, recording and alerting rules, a Grafana dashboard."""
from .component import Monitoring, MonitoringArgs

__all__ = ["Monitoring", "MonitoringArgs"]
