#!/usr/bin/env bash
# `make image`: builds the Dockerfile at the repository root with the first OCI builder that
# works here — docker (when `docker info` reaches an engine), podman, then buildah — and tags it
# $IMAGE (default sluice:dev). When none works it says so and exits 0: the image is optional for
# `make test` and CI.
# Environment:
#   IMAGE              the tag (default sluice:dev)
#   BASE_IMAGE         the build stage's Debian 12 image (Dockerfile default: debian:12)
#   JOBS               parallel compile jobs inside the build (default: every CPU)
#   IMAGE_BUILDER      docker | podman | buildah: use this one, no probing
#   BUILDAH_ISOLATION  buildah's isolation (default chroot: works without a container runtime)
#   STORAGE_DRIVER     podman/buildah storage driver (e.g. vfs where overlay is unavailable)
set -euo pipefail
cd "$(dirname "$0")/.."

image=${IMAGE:-sluice:dev}
build_args=()
[[ -n ${BASE_IMAGE:-} ]] && build_args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
[[ -n ${JOBS:-} ]] && build_args+=(--build-arg "JOBS=$JOBS")

works() {
  command -v "$1" >/dev/null 2>&1 || return 1
  case "$1" in
    docker) timeout 20 docker info >/dev/null 2>&1 ;;
    podman) timeout 20 podman info >/dev/null 2>&1 ;;
    buildah) timeout 20 buildah info >/dev/null 2>&1 ;;
  esac
}

builder=${IMAGE_BUILDER:-}
if [[ -z $builder ]]; then
  for candidate in docker podman buildah; do
    if works "$candidate"; then builder=$candidate; break; fi
  done
fi
if [[ -z $builder ]]; then
  echo "make image: SKIPPED — no working OCI builder (docker with a running engine, podman or buildah);" \
       "install one (Debian: apt-get install buildah) to build the image" >&2
  exit 0
fi

echo "make image: building $image with $builder${BASE_IMAGE:+ (BASE_IMAGE=$BASE_IMAGE)}" >&2
case "$builder" in
  docker) docker build "${build_args[@]}" -t "$image" . ;;
  podman) podman build "${build_args[@]}" -t "$image" . ;;
  buildah) buildah bud --isolation "${BUILDAH_ISOLATION:-chroot}" --layers "${build_args[@]}" -t "$image" . ;;
  *) echo "make image: unknown IMAGE_BUILDER $builder (docker, podman or buildah)" >&2; exit 2 ;;
esac

size=$("$builder" images --format '{{.Size}}' "$image" 2>/dev/null | head -n 1 || true)
echo "make image: built $image${size:+ ($size)}" >&2
