"""The cloud targets: each turns the stack configuration into one Platform value (infra/contract.py)."""
from ..config import ConfigError, StackConfig
from ..contract import Platform, WorkloadAccounts


def build_platform(config: StackConfig, accounts: WorkloadAccounts) -> Platform:
    """The platform of the configured cloud. Cloud modules are imported only when selected: their SDKs are large."""
    if config.cloud == "local":
        from .local import local_platform

        return local_platform(config)
    if config.cloud == "gcp":
        from .gcp import gcp_platform

        return gcp_platform(config, accounts)
    if config.cloud == "azure":
        from .azure import azure_platform

        return azure_platform(config, accounts)
    raise ConfigError("cloud", config.cloud, "local, gcp or azure")
