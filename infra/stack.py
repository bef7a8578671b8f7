"""The whole stack as a list of components: platform, images, tracking server, model service, monitoring.

Each component publishes typed values (endpoints, client access, scrape targets) and the next one is given them:
nothing here knows how a component is built.
"""
from dataclasses import replace

import pulumi

from .config import StackConfig
from .config.chart_images import CHART_IMAGES
from .contract import MirroredImage, Registry, WorkloadAccounts
from .image import SERVING, TRACKING, ContainerImage, ContainerImageArgs
from .image_mirror import ImageMirror, ImageMirrorArgs
from .k8s.model_service import ModelService, ModelServiceArgs
from .k8s.monitoring import Monitoring, MonitoringArgs
from .k8s.tracking_server import TrackingServer, TrackingServerArgs
from .platform import build_platform

# Where the monitoring chart's images go in the stack's registry: <registry>/kube-prometheus-stack/<upstream path>.
MONITORING_MIRROR_PREFIX = "kube-prometheus-stack"


def workload_accounts(config: StackConfig) -> WorkloadAccounts:
    return WorkloadAccounts.in_namespaces(config.tracking.namespace, config.serving.namespace)


def build_stack(config: StackConfig) -> dict[str, pulumi.Input[object]]:
    """Declares every resource of the stack and returns the stack outputs."""
    accounts = workload_accounts(config)
    platform = build_platform(config, accounts)
    k8s_opts = pulumi.ResourceOptions(provider=platform.provider)

    # Its former component type, so existing stacks keep their serving image build instead of replacing it.
    image = ContainerImage("serving-image", ContainerImageArgs(SERVING, config.image, platform.registry),
                           opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="mlstack:image:ServingImage")]))
    tracking_image = ContainerImage("tracking-image", ContainerImageArgs(
        TRACKING, replace(config.image, prebuilt=config.tracking.image, repository=config.tracking.image_repository),
        platform.registry))
    tracking = TrackingServer("tracking", TrackingServerArgs(
        config=config.tracking,
        account=accounts.tracking,
        image=tracking_image.ref,
        stores=platform.tracking_stores,
        workload=platform.tracking,
        storage_class=platform.storage_class,
        client_namespaces=[config.serving.namespace, *config.serving.allowed_namespaces],
        scraper_namespaces=[config.monitoring.namespace],
    ), opts=k8s_opts)
    service = ModelService("model", ModelServiceArgs(
        config=config.serving,
        account=accounts.serving,
        image=image.ref,
        mlflow=tracking.client_access,
        workload=platform.serving,
        monitoring_namespace=config.monitoring.namespace,
    ), opts=k8s_opts)

    outputs: dict[str, pulumi.Input[object]] = {
        "namespace": service.namespace,
        "modelServiceUrl": service.url,
        "mlflowUrl": tracking.url,
        "mlflowAdminUser": tracking.admin_user,
        "mlflowAdminPassword": tracking.admin_password,
        "image": image.ref,
        "trackingImage": tracking_image.ref,
    }
    if config.monitoring.mode != "none":
        monitoring = Monitoring("monitoring", MonitoringArgs(
            config=config.monitoring,
            model=service.scrape_target,
            model_workload=service.workload_name,
            tracking=tracking.scrape_target,
            storage_class=platform.storage_class,
            chart_images=_mirrored_chart_images(config, platform.registry),
        ), opts=k8s_opts)
        if monitoring.grafana_url is not None and monitoring.grafana_admin_password is not None:
            outputs["grafanaUrl"] = monitoring.grafana_url
            outputs["grafanaAdminPassword"] = monitoring.grafana_admin_password
    if platform.kubeconfig is not None:
        outputs["kubeconfig"] = platform.kubeconfig
    return outputs


def _mirrored_chart_images(config: StackConfig, registry: Registry) -> dict[str, MirroredImage] | None:
    """kube-prometheus-stack's images in the stack's registry, when the stack builds images (else upstream's, by tag)."""
    if not config.mirrors_monitoring_chart:
        return None
    mirror = ImageMirror("monitoring-images", ImageMirrorArgs(
        upstream=CHART_IMAGES[config.monitoring.chart_version], registry=registry, prefix=MONITORING_MIRROR_PREFIX))
    return mirror.images
