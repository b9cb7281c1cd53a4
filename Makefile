# The two commands of the README:
#   make run   installs what the build needs, builds, and starts `erizo all` (the embedded default)
#   make test  installs what the tests need, starts rabbitmq-server loopback-only, runs every test,
#              and stops what it started
SHELL := /bin/bash
SWIFT_BUILD_FLAGS ?= -Xswiftc -warnings-as-errors
TEST_RABBITMQ_URL ?= amqp://guest:guest@127.0.0.1:5672

.PHONY: run build test unit-test integration-test format-check format docs bench clean

run:
	scripts/install-deps --build-only
	swift build $(SWIFT_BUILD_FLAGS) --product erizo
	swift build $(SWIFT_BUILD_FLAGS) --product erizo-worker
	.build/debug/erizo all

build:
	swift build $(SWIFT_BUILD_FLAGS)

test:
	scripts/test

unit-test:
	swift build $(SWIFT_BUILD_FLAGS) --build-tests
	swift test --skip-build --skip IntegrationTests

format-check:
	swift format lint --strict --recursive Sources Tests Tools Package.swift

format:
	swift format --in-place --recursive Sources Tests Tools Package.swift

# Regenerates docs/configuration.md's key table from the code.
docs:
	swift build --product erizo
	scripts/render-config-doc

bench:
	scripts/bench

clean:
	rm -rf .build
