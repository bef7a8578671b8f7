"""The whole stack as a list of components: platform, images, tracking server, model service, monitoring."""
from dataclasses import replace

import pulumi

from .config import StackConfig
from .image import SERVING, TRACKING, ContainerImage, ContainerImageArgs
from .k8s import model_service, tracking_server
from .k8s.model_service import MlflowAccess, ModelService, ModelServiceArgs
from .k8s.monitoring import BasicAuth, Monitoring, MonitoringArgs, ScrapeTarget
from .k8s.tracking_server import PORT as TRACKING_PORT, TrackingServer, TrackingServerArgs
from .platform import build_platform


def build_stack(config: StackConfig) -> dict[str, pulumi.Input]:
    """Declares every resource of the stack and returns the stack outputs."""
    platform = build_platform(config)
    k8s_opts = pulumi.ResourceOptions(provider=platform.provider)

    # Its former component type, so existing stacks keep their serving image build instead of replacing it.
    image = ContainerImage("serving-image", ContainerImageArgs(SERVING, config.image, platform.registry),
                           opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(type_="mlstack:image:ServingImage")]))
    tracking_image = ContainerImage("tracking-image", ContainerImageArgs(
        TRACKING, replace(config.image, prebuilt=config.tracking.image, repository=config.tracking.image_repository),
        platform.registry))
    tracking = TrackingServer("tracking", TrackingServerArgs(
        config=config.tracking,
        image=tracking_image.ref,
        stores=platform.tracking_stores,
        workload=platform.tracking,
        storage_class=platform.storage_class,
        client_namespaces=[config.serving.namespace, config.monitoring.namespace, *config.serving.allowed_namespaces],
    ), opts=k8s_opts)
    service = ModelService("model", ModelServiceArgs(
        config=config.serving,
        image=image.ref,
        mlflow=MlflowAccess(tracking.url, tracking.admin_user, tracking.admin_password, config.tracking.namespace, TRACKING_PORT),
        workload=platform.serving,
        monitoring_namespace=config.monitoring.namespace,
    ), opts=k8s_opts)

    outputs = {
        "namespace": service.namespace,
        "modelServiceUrl": service.url,
        "mlflowUrl": tracking.url,
        "mlflowAdminUser": tracking.admin_user,
        "mlflowAdminPassword": tracking.admin_password,
        "image": image.ref,
        "trackingImage": tracking_image.ref,
    }
    if config.monitoring.mode != "none":
        monitoring = _monitoring(config, platform.storage_class, service, tracking, k8s_opts)
        if monitoring.grafana_url is not None:
            outputs["grafanaUrl"] = monitoring.grafana_url
            outputs["grafanaAdminPassword"] = monitoring.grafana_admin_password
    if platform.kubeconfig is not None:
        outputs["kubeconfig"] = platform.kubeconfig
    return outputs


def _monitoring(config: StackConfig, storage_class, service: ModelService, tracking: TrackingServer,
                opts: pulumi.ResourceOptions) -> Monitoring:
    model_target = ScrapeTarget(model_service.NAME, config.serving.namespace, service.selector,
                                model_service.PORT_NAME, service=service.service)
    # MLflow's basic-auth app guards /metrics too; only the admin user exists without calls to MLflow's API.
    tracking_target = ScrapeTarget(tracking_server.NAME, config.tracking.namespace, tracking.selector,
                                   tracking_server.PORT_NAME, basic_auth=BasicAuth(tracking.admin_user, tracking.admin_password),
                                   service=tracking.service)
    return Monitoring("monitoring", MonitoringArgs(
        config=config.monitoring,
        model=model_target,
        model_workload=model_service.NAME,
        tracking=tracking_target,
        storage_class=storage_class,
    ), opts=opts)
