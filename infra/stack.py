"""The whole stack as a list of components: platform, image, tracking server, model service."""
import pulumi

from .config import StackConfig
from .image import ServingImage, ServingImageArgs
from .k8s.model_service import MlflowAccess, ModelService, ModelServiceArgs
from .k8s.tracking_server import PORT as TRACKING_PORT, TrackingServer, TrackingServerArgs
from .platform import build_platform


def build_stack(config: StackConfig) -> dict[str, pulumi.Input]:
    """Declares every resource of the stack and returns the stack outputs."""
    platform = build_platform(config)
    k8s_opts = pulumi.ResourceOptions(provider=platform.provider)

    image = ServingImage("serving-image", ServingImageArgs(config.image, platform.registry))
    tracking = TrackingServer("tracking", TrackingServerArgs(
        config=config.tracking,
        stores=platform.tracking_stores,
        identity=platform.tracking_identity,
        storage_class=platform.storage_class,
        client_namespaces=[config.serving.namespace, config.monitoring.namespace, *config.serving.allowed_namespaces],
        node_selector=platform.node_selector,
        extra_egress=platform.extra_egress,
    ), opts=k8s_opts)
    service = ModelService("model", ModelServiceArgs(
        config=config.serving,
        image=image.ref,
        mlflow=MlflowAccess(tracking.url, tracking.admin_user, tracking.admin_password, config.tracking.namespace, TRACKING_PORT),
        identity=platform.serving_identity,
        monitoring_namespace=config.monitoring.namespace,
        node_selector=platform.node_selector,
        extra_egress=platform.extra_egress,
    ), opts=k8s_opts)

    outputs = {
        "namespace": service.namespace,
        "modelServiceUrl": service.url,
        "mlflowUrl": tracking.url,
        "mlflowAdminUser": tracking.admin_user,
        "mlflowAdminPassword": tracking.admin_password,
        "image": image.ref,
    }
    if platform.kubeconfig is not None:
        outputs["kubeconfig"] = platform.kubeconfig
    return outputs
