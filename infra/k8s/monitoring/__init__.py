"""Monitoring as code: kube-prometheus-stack, ServiceMonitors, recording and alerting rules, a Grafana dashboard."""
from .component import Monitoring, MonitoringArgs
from .scrape import BasicAuth, ScrapeTarget

__all__ = ["BasicAuth", "Monitoring", "MonitoringArgs", "ScrapeTarget"]
