# The Sluice image (docs/deploy.md#container): `make image`, or
#   docker build -t sluice .
#   podman build -t sluice .     /     buildah bud -t sluice .
#
# Two stages:
#  - build: Debian 12 with the packages of scripts/install-deps.sh that the two binaries need,
#    a CMake Release build of `sluice` and `sluice-mock` (no tests), then
#    scripts/image-rootfs.sh stages the runtime file system under /rootfs: the stripped
#    binaries, exactly the shared libraries `ldd` lists for them, the CA bundle, a passwd entry
#    for the unprivileged user and the example configurations of deploy/container/.
#  - runtime: FROM scratch plus /rootfs. No shell, no package manager, no curl (so no
#    HEALTHCHECK: probe /healthz and /readyz on the admin port from outside, as Kubernetes does).
#
# Build arguments:
#  - BASE_IMAGE: the Debian 12 image of the build stage (default debian:12). Any bookworm root
#    file system with apt works, e.g. one made by `debootstrap --variant=minbase bookworm`
#    and imported with `buildah import` where no registry is reachable (docs/deploy.md).
#  - JOBS: parallel compile jobs (default: every CPU the build sees).
ARG BASE_IMAGE=debian:12

FROM ${BASE_IMAGE} AS build
ARG JOBS=
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libssl-dev zlib1g-dev libyaml-cpp-dev libre2-dev libspdlog-dev libfmt-dev libcli11-dev \
      libhiredis-dev libnghttp2-dev \
      ca-certificates binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY src ./src
COPY tools/mock ./tools/mock
COPY deploy ./deploy
COPY scripts/image-rootfs.sh ./scripts/
# Release at -O2, the level the project builds, tests and benchmarks (RelWithDebInfo): GCC 12 at
# CMake's default -O3 reports false -Wrestrict errors in inlined std::string code (GCC PR 105329),
# which -Werror turns into a failed build.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
      -DSLUICE_TESTS=OFF -DSLUICE_BENCH=OFF \
 && cmake --build build --target sluice sluice-mock ${JOBS:+-j$JOBS} \
 && scripts/image-rootfs.sh build/bin /rootfs

FROM scratch AS runtime
COPY --from=build /rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# 65532: the unprivileged "sluice" user of /etc/passwd (numeric, so Kubernetes' runAsNonRoot
# can check it).
USER 65532:65532
WORKDIR /
# 8080: the listener of /etc/sluice/sluice.yaml; 9901: its admin listener (/healthz, /readyz,
# /metrics, /status); 8090: sluice-mock (--entrypoint sluice-mock).
EXPOSE 8080 9901 8090
ENTRYPOINT ["/usr/bin/sluice"]
CMD ["serve", "-c", "/etc/sluice"]
