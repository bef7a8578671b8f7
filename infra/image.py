"""The serving image: built from serving/ with BuildKit, pushed to the platform's registry, referenced by digest."""
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker_build as docker_build

from .config.model import ImageConfig
from .platform import Registry

PROJECT_DIR = Path(__file__).resolve().parent.parent
SERVING_DIR = PROJECT_DIR / "serving"
# The context is the project root, but serving/Dockerfile.dockerignore lets only serving/ into it: the hash of
# serving/ covers everything the build can see.
DOCKERFILE = SERVING_DIR / "Dockerfile"


def context_hash(directory: Path = SERVING_DIR) -> str:
    """A digest of every file of the build context, so the tag changes exactly when the context does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class ServingImageArgs:
    config: ImageConfig
    registry: Registry


class ServingImage(pulumi.ComponentResource):
    """`ref` is the pushed image as repo@sha256:digest, or the configured prebuilt reference."""

    ref: pulumi.Output[str]

    def __init__(self, name: str, args: ServingImageArgs, opts: pulumi.ResourceOptions = None):
        super().__init__("mlstack:image:ServingImage", name, None, opts)
        cfg = args.config
        if cfg.build:
            repository = pulumi.Output.concat(args.registry.address, "/", cfg.repository)
            build = self._build(name, cfg, args.registry, repository)
            # Not the provider's `ref`, which keeps the tag (repo:tag@sha256:...): by digest alone, nothing else varies.
            self.ref = pulumi.Output.concat(repository, "@", build.digest)
        else:
            self.ref = pulumi.Output.from_input(cfg.prebuilt)
        self.register_outputs({"ref": self.ref})

    def _build(self, name: str, cfg: ImageConfig, registry: Registry, repository: pulumi.Output[str]) -> docker_build.Image:
        credentials = []
        if registry.password is not None:
            credentials.append(docker_build.RegistryArgs(
                address=registry.address, username=registry.username, password=registry.password))
        return docker_build.Image(
            f"{name}-build",
            context=docker_build.BuildContextArgs(location=str(PROJECT_DIR)),
            dockerfile=docker_build.DockerfileArgs(location=str(DOCKERFILE)),
            platforms=[docker_build.Platform.LINUX_AMD64],
            build_args={"BASE_IMAGE": cfg.base} if cfg.base else None,
            tags=[pulumi.Output.concat(repository, ":", context_hash()[:16])],
            push=True,
            registries=credentials,
            cache_from=[docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(
                ref=pulumi.Output.concat(repository, ":buildcache")))],
            cache_to=[docker_build.CacheToArgs(registry=docker_build.CacheToRegistryArgs(
                ref=pulumi.Output.concat(repository, ":buildcache"), mode=docker_build.CacheMode.MAX,
                image_manifest=True, oci_media_types=True))],
            opts=pulumi.ResourceOptions(parent=self),
        )
