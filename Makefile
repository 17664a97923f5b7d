# The README's two commands: `make run` and `make test`. Everything else is a helper for them.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_EXTRA ?=

.PHONY: all deps build run test unit node-deps bench asan format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_EXTRA) >/dev/null
	@cmake --build $(BUILD)

# Builds, starts sluice-mock and `sluice serve` on the embedded quick-start config.
run: build
	@scripts/quickstart.sh $(BUILD)

node-deps: tests/node_modules/.package-lock.json

tests/node_modules/.package-lock.json: tests/package.json tests/package-lock.json
	@cd tests && npm ci --no-audit --no-fund --loglevel=error

# Builds and runs every test: unit (GoogleTest), integration and end-to-end (node:test), all via ctest.
test: build node-deps
	@cd $(BUILD) && ctest --output-on-failure --timeout 600

unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

# Sanitizer build (ASan + UBSan) of the whole suite.
asan:
	@$(MAKE) test BUILD=build-asan BUILD_TYPE=Debug CMAKE_EXTRA=-DSLUICE_SANITIZE=ON

bench: 
	@BUILD=$(BUILD) bench/run

format:
	@find src tools tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan
