"""Upstream images copied into the stack's own registry, so the cluster pulls them from there, by digest.

Each image is a BuildKit build of a one-line Dockerfile, `FROM <upstream>:<tag>`, pushed to
`<registry>/<prefix>/<upstream repository>:<tag>`: the path the stack already uses for its own images, with the same
credentials. Where the registry has immutable tags (Artifact Registry), a mirrored tag names one image for good, and
the registry scans it like every image pushed there. The digest the stack runs is that of the pushed image, read
from the build: no digest is ever copied in from elsewhere.
"""
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    import pulumi_docker_build as docker_build

from .config.chart_images import UpstreamImage
from .contract import MirroredImage, Registry
from .image import PROJECT_DIR, push_credentials

# An empty build context (its .dockerignore admits nothing): the build hash follows the Dockerfile alone.
CONTEXT_DIR = PROJECT_DIR / "infra" / "mirror_context"


def dockerfile(upstream: UpstreamImage) -> str:
    return f"FROM {upstream.ref}\n"


@dataclass(frozen=True)
class ImageMirrorArgs:
    upstream: Mapping[str, UpstreamImage]  # by a name the consumer looks its mirror up with
    registry: Registry
    prefix: str  # the path in the registry the mirrors go under, e.g. kube-prometheus-stack


class ImageMirror(pulumi.ComponentResource):
    """`images` holds each upstream image's mirror, under the same name."""

    images: dict[str, MirroredImage]

    def __init__(self, name: str, args: ImageMirrorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:image:ImageMirror", name, None, opts)
        self.images = {key: self._mirror(f"{name}-{key}", upstream, args)
                       for key, upstream in sorted(args.upstream.items())}
        self.register_outputs({"refs": {key: pulumi.Output.concat(image.registry, "/", image.repository, "@",
                                                                  image.digest)
                                        for key, image in self.images.items()}})

    def _mirror(self, resource_name: str, upstream: UpstreamImage, args: ImageMirrorArgs) -> MirroredImage:
        repository = f"{args.prefix}/{upstream.repository}"
        build = self._build(resource_name, upstream,
                            pulumi.Output.concat(args.registry.address, "/", repository, ":", upstream.tag), args.registry)
        return MirroredImage(registry=args.registry.address, repository=repository, tag=upstream.tag, digest=build.digest)

    def _build(self, resource_name: str, upstream: UpstreamImage, tag: pulumi.Output[str],
               registry: Registry) -> "docker_build.Image":
        # Imported here, as in image.py: a stack that builds nothing never pays for the SDK's import.
        import pulumi_docker_build as docker_build

        return docker_build.Image(
            resource_name,
            context=docker_build.BuildContextArgs(location=str(CONTEXT_DIR)),
            dockerfile=docker_build.DockerfileArgs(inline=dockerfile(upstream)),
            platforms=[docker_build.Platform.LINUX_AMD64],
            tags=[tag],
            push=True,
            registries=push_credentials(registry),
            opts=pulumi.ResourceOptions(parent=self),
        )
