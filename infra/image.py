"""Container images built from a directory of the project with BuildKit, pushed to the platform's registry and
referenced by digest: the model server (serving/) and the MLflow tracking server (tracking/)."""
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    import pulumi_docker_build as docker_build

from .config.model import ImageConfig
from .contract import Registry

PROJECT_DIR = Path(__file__).resolve().parent.parent


def context_hash(directory: Path) -> str:
    """A digest of every file of the build context, so the tag changes exactly when the context does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class ImageSource:
    """`<directory>/Dockerfile`, built with the project root as its context. Its Dockerfile.dockerignore lets
    nothing outside the directory in, so the directory's hash covers everything the build can see."""

    directory: Path

    @property
    def dockerfile(self) -> Path:
        return self.directory / "Dockerfile"

    @property
    def dockerignore(self) -> Path:
        return self.directory / "Dockerfile.dockerignore"

    def tag(self) -> str:
        return context_hash(self.directory)[:16]


SERVING = ImageSource(PROJECT_DIR / "serving")
TRACKING = ImageSource(PROJECT_DIR / "tracking")


def push_credentials(registry: Registry) -> list["docker_build.RegistryArgs"]:
    """The registry's login for BuildKit's push, or none where the registry takes pushes without one (local)."""
    import pulumi_docker_build as docker_build

    if registry.password is None:
        return []
    return [docker_build.RegistryArgs(address=registry.address, username=registry.username, password=registry.password)]


@dataclass(frozen=True)
class ContainerImageArgs:
    source: ImageSource
    config: ImageConfig
    registry: Registry


class ContainerImage(pulumi.ComponentResource):
    """`ref` is the pushed image as repo@sha256:digest, or the configured prebuilt reference."""

    ref: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:image:ContainerImage", name, None, opts)
        cfg = args.config
        if cfg.build:
            repository = pulumi.Output.concat(args.registry.address, "/", cfg.repository)
            build = self._build(name, args.source, cfg, args.registry, repository)
            # Not the provider's `ref`, which keeps the tag (repo:tag@sha256:...): by digest alone, nothing else varies.
            self.ref = pulumi.Output.concat(repository, "@", build.digest)
        else:
            self.ref = pulumi.Output.from_input(cfg.prebuilt)
        self.register_outputs({"ref": self.ref})

    def _build(self, name: str, source: ImageSource, cfg: ImageConfig, registry: Registry,
               repository: pulumi.Output[str]) -> "docker_build.Image":
        # Imported here: a stack that takes prebuilt images never pays for the SDK's import (docs/engine.md).
        import pulumi_docker_build as docker_build

        return docker_build.Image(
            f"{name}-build",
            context=docker_build.BuildContextArgs(location=str(PROJECT_DIR)),
            dockerfile=docker_build.DockerfileArgs(location=str(source.dockerfile)),
            platforms=[docker_build.Platform.LINUX_AMD64],
            build_args={"BASE_IMAGE": cfg.base} if cfg.base else None,
            tags=[pulumi.Output.concat(repository, ":", source.tag())],
            push=True,
            registries=push_credentials(registry),
            cache_from=[docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(
                ref=pulumi.Output.concat(repository, ":buildcache")))],
            cache_to=[docker_build.CacheToArgs(registry=docker_build.CacheToRegistryArgs(
                ref=pulumi.Output.concat(repository, ":buildcache"), mode=docker_build.CacheMode.MAX,
                image_manifest=True, oci_media_types=True))],
            opts=pulumi.ResourceOptions(parent=self),
        )
