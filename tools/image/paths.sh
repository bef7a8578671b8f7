# Where the image tier's engine, registry and base image live; sourced by every script here.
# shellcheck shell=bash disable=SC2034  # sourced: the scripts that source it use these variables
IMAGE_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE_CACHE=${MLSTACK_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlstack/image}
# Short on purpose: a unix socket path must fit in 108 bytes.
IMAGE_RUN=${MLSTACK_IMAGE_RUN:-/run/mlstack-image}
DOCKER_SOCKET=$IMAGE_RUN/docker.sock
REGISTRY_ADDRESS_FILE=$IMAGE_RUN/registry.address
# Debian's client, the same release as its engine; /usr/local/bin may hold another one.
DOCKER=${MLSTACK_DOCKER:-/usr/bin/docker}
export DOCKER_HOST=unix://$DOCKER_SOCKET
# A client config of our own: the host's may name credential helpers for registries we never use.
export DOCKER_CONFIG=$IMAGE_RUN/client
DEBIAN_MIRROR=${MLSTACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_SUITE=bookworm
# Python 3.11 like the pins; python3-venv brings ensurepip for the Dockerfile's builder stage.
BASE_PACKAGES=python3,python3-venv
# The tag follows the recipe, so editing base.sh rebuilds the base and nothing else does.
BASE_TAG=mlstack-base/python:3.11-$BASE_SUITE-$( (echo "$BASE_SUITE $BASE_PACKAGES"; cat "$IMAGE_TOOLS_DIR/base.sh") | sha256sum | cut -c1-12)
BASE_TARBALL=$IMAGE_CACHE/base/${BASE_TAG##*:}.tar
SIZE_BUDGET_FILE=$IMAGE_TOOLS_DIR/size-budget
