# wasmcp-spin-authkit: OAuth bearer-token middleware for wasmcp-spin MCP gateways.
#
#   make up                       serve the example gateway behind the middleware at
#                                 http://127.0.0.1:3000/mcp (`spin up` if Spin is
#                                 installed); without AUTHKIT_ISSUER with a local
#                                 development issuer that prints a token
#   make up GATEWAY=gw.wasm       ... in front of your own wasmcp-spin build
#   make compose GATEWAY=gw.wasm  only write server.wasm
#   make dist                     the shipped, size-optimised components in build/
#   make check                    the developer loop: fmt, clippy, native unit tests
#   make test                     everything CI runs (.ci/run)
#   make bench                    benchmarks (docs/PERFORMANCE.md)
#
# This file: variables, build, compose, serve, tests. Fragments in mk/: tools.mk
# (every pinned tool), size.mk, attacks.mk, deny.mk (supply chain, hygiene),
# fuzz.mk, bench.mk, peers.mk; mk/serve.sh is `make up`'s serving half.

SHELL := /bin/bash
.DEFAULT_GOAL := build

CARGO        ?= cargo
PYTHON       ?= python3
WASM_TARGET  := wasm32-wasip2
TARGET_DIR   := target
RELEASE_DIR  := $(TARGET_DIR)/$(WASM_TARGET)/release
BUILD_DIR    := build
TOOLS_DIR    := .tools
VENV         := .venv

include mk/tools.mk

# The middleware and the key-value guard: shipped through `wasm-opt -Oz` (make
# dist); without wasm-opt on PATH, `make up`, `make compose` and the tests use
# cargo's output as is (same WIT, about 20 % larger) instead of building binaryen.
HAVE_WASM_OPT  := $(shell command -v wasm-opt 2>/dev/null)
MIDDLEWARE_OPT := $(BUILD_DIR)/wasmcp_spin_authkit.wasm
GUARD_OPT      := $(BUILD_DIR)/authkit_keyvalue_guard.wasm
MIDDLEWARE     := $(if $(HAVE_WASM_OPT),$(MIDDLEWARE_OPT),$(RELEASE_DIR)/wasmcp_spin_authkit.wasm)
GUARD          := $(if $(HAVE_WASM_OPT),$(GUARD_OPT),$(RELEASE_DIR)/authkit_keyvalue_guard.wasm)
COMPONENT_MODULE := $(PYTHON) mk/component-module.py

# Native programs (profile `host`): the Spin-like wasmtime host, and the
# development issuer alone (no wasmtime), which runs next to `spin up`.
HOST           := $(TARGET_DIR)/host/authkit-host
# Always with the feature that builds its fixture tests, so that the host, its tests
# and its benchmarks share one build.
HOST_PACKAGE   := -p authkit-host --features authkit-host/fixtures
DEV_ISSUER_BIN := $(TARGET_DIR)/host/authkit-dev-issuer

# Spin: from PATH, else the out-of-tree build DEVELOPERS.md describes, if present.
SPIN      ?= $(shell command -v spin 2>/dev/null || echo $(HOME)/.cache/spin/bin/spin)
HAVE_SPIN := $(shell command -v $(SPIN) 2>/dev/null)

EXAMPLE_GATEWAY := $(RELEASE_DIR)/mcp_gateway.wasm
GATEWAY    ?= $(EXAMPLE_GATEWAY)
SERVER     ?= server.wasm
LISTEN     ?= 127.0.0.1:3000
DEV_ISSUER ?= 127.0.0.1:3001

.PHONY: build middleware gateways host dev-issuer dist compose up clean

# ---------------------------------------------------------------------------
# Build

build: middleware gateways

middleware: wasm-target
	$(CARGO) build --release --target $(WASM_TARGET) -p wasmcp-spin-authkit -p authkit-keyvalue-guard
	@$(MAKE) --no-print-directory $(MIDDLEWARE) $(GUARD)

# The shipped artifacts, both through wasm-opt (installed into .tools if absent).
dist: wasm-target
	$(CARGO) build --release --target $(WASM_TARGET) -p wasmcp-spin-authkit -p authkit-keyvalue-guard
	@$(MAKE) --no-print-directory $(MIDDLEWARE_OPT) $(GUARD_OPT)

# Every feature rustc enables by default on wasm32-wasip2, spelled out for binaryen
# 108 (Debian 12), which reads them from no section of an embedded module.
WASM_OPT_FLAGS ?= -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
                  --enable-mutable-globals --enable-multivalue --enable-reference-types

# Only the main core module is rewritten; the component around it is copied as is.
$(MIDDLEWARE_OPT) $(GUARD_OPT): $(BUILD_DIR)/%.wasm: $(RELEASE_DIR)/%.wasm mk/component-module.py | $(WASM_OPT)
	@mkdir -p $(@D)
	$(COMPONENT_MODULE) extract $< $@.core.wasm
	$(WASM_OPT) $(WASM_OPT_FLAGS) $@.core.wasm -o $@.core.opt.wasm
	$(COMPONENT_MODULE) replace $< $@.core.opt.wasm $@.tmp
	@rm -f $@.core.wasm $@.core.opt.wasm
	@mv $@.tmp $@
	@echo "$@: $$(stat -c %s $@) bytes (cargo: $$(stat -c %s $<))"

# The test gateways (examples/). Two are built twice more with other features, in
# their own target dirs: the example gateway exporting wasi:http@0.2.0 (as spin-sdk 3
# and cargo-component builds do), and the hostile gateway with wasi:keyvalue only.
GATEWAY_020          := $(TARGET_DIR)/wasi-http-0.2.0/$(WASM_TARGET)/release/mcp_gateway.wasm
ECHO_GATEWAY         := $(RELEASE_DIR)/echo_gateway.wasm
PROXY_GATEWAY        := $(RELEASE_DIR)/proxy_gateway.wasm
HOSTILE_GATEWAY      := $(RELEASE_DIR)/hostile_gateway.wasm
HOSTILE_GATEWAY_WASI := $(TARGET_DIR)/hostile-wasi/$(WASM_TARGET)/release/hostile_gateway.wasm

gateways: wasm-target
	$(CARGO) build --release --target $(WASM_TARGET) -p mcp-gateway -p echo-gateway \
		-p proxy-gateway -p hostile-gateway
	$(CARGO) build --release --target $(WASM_TARGET) -p hostile-gateway --no-default-features \
		--target-dir $(TARGET_DIR)/hostile-wasi
	$(CARGO) build --release --target $(WASM_TARGET) -p mcp-gateway --features wasi-http-0-2-0 \
		--target-dir $(TARGET_DIR)/wasi-http-0.2.0

host:
	@[ -x $(HOST) ] || echo "== building the local wasmtime host (host/; the first build takes about 9 min on 2 cores)"
	$(CARGO) build --profile host $(HOST_PACKAGE)

dev-issuer:
	$(CARGO) build --profile host -p authkit-dev-issuer

# ---------------------------------------------------------------------------
# Compose

# $(call compose-server,GATEWAY,OUT): the gateway behind the middleware and its
# key-value imports behind the guard (compose.wac). A gateway with a key-value
# import the guard does not serve is refused; one without any key-value import
# needs compose-no-keyvalue.wac (wac will not spread the guard into it).
define compose-server
	@set -e; kv=$$($(COMPONENT_MODULE) check-keyvalue $(1) $(GUARD)); \
	if [ "$$kv" = guarded ]; then \
		echo "$(WAC) compose compose.wac (key-value guard) -> $(2)"; \
		$(WAC) compose compose.wac --dep wasmcp:gateway=$(1) --dep wasmcp:keyvalue-guard=$(GUARD) \
			--dep wasmcp:authkit=$(MIDDLEWARE) -o $(2); \
	else \
		echo "$(WAC) compose compose-no-keyvalue.wac (the gateway imports no key-value) -> $(2)"; \
		$(WAC) compose compose-no-keyvalue.wac --dep wasmcp:gateway=$(1) \
			--dep wasmcp:authkit=$(MIDDLEWARE) -o $(2); \
	fi
endef

# Plug the middleware in front of $(GATEWAY) -> $(SERVER).
compose: middleware tools
	@if [ "$(GATEWAY)" = "$(EXAMPLE_GATEWAY)" ]; then \
		$(CARGO) build --release --target $(WASM_TARGET) -p mcp-gateway; fi
	@test -f "$(GATEWAY)" || { echo "GATEWAY=$(GATEWAY) does not exist" >&2; exit 1; }
	$(call compose-server,$(GATEWAY),$(SERVER))
	@echo "composed $(SERVER) ($$(stat -c %s $(SERVER)) bytes): authkit middleware -> $(GATEWAY)"

# Test servers: build/server-NAME.wasm is gateway GATEWAY_NAME behind the middleware,
# recomposed when an input changes.
GATEWAY_mcp       := $(EXAMPLE_GATEWAY)
GATEWAY_mcp-0.2.0 := $(GATEWAY_020)
GATEWAY_echo      := $(ECHO_GATEWAY)
GATEWAY_proxy     := $(PROXY_GATEWAY)
GATEWAY_hostile   := $(HOSTILE_GATEWAY)
TEST_SERVERS      := $(foreach name,mcp mcp-0.2.0 echo proxy hostile,$(BUILD_DIR)/server-$(name).wasm)
# The hostile gateway (wasi-only build) composed WITHOUT the guard by misusing
# compose-no-keyvalue.wac: what the guard prevents, shown by the trust-boundary tests.
SERVER_UNGUARDED  := $(BUILD_DIR)/server-hostile-unguarded.wasm

.SECONDEXPANSION:
$(TEST_SERVERS): $(BUILD_DIR)/server-%.wasm: $$(GATEWAY_$$*) $(MIDDLEWARE) $(GUARD) compose.wac compose-no-keyvalue.wac
	@mkdir -p $(@D)
	$(call compose-server,$<,$@)

$(SERVER_UNGUARDED): $(HOSTILE_GATEWAY_WASI) $(MIDDLEWARE) compose-no-keyvalue.wac
	@mkdir -p $(@D)
	$(WAC) compose compose-no-keyvalue.wac --dep wasmcp:gateway=$< --dep wasmcp:authkit=$(MIDDLEWARE) -o $@

.PHONY: fixtures
fixtures: build tools
	@$(MAKE) --no-print-directory $(TEST_SERVERS) $(SERVER_UNGUARDED)

# ---------------------------------------------------------------------------
# Serve (mk/serve.sh): `spin up` when Spin is installed, else the bundled wasmtime
# host (same variables, a fresh instance per request). Without AUTHKIT_ISSUER: with
# the local DEVELOPMENT-ONLY issuer on $(DEV_ISSUER), which prints a bearer token.
# Only what serving needs is built, side by side: server.wasm, and the development
# issuer (with Spin, no AUTHKIT_ISSUER) or the wasmtime host (without Spin).
SERVE_NEEDS := $(if $(HAVE_SPIN),$(if $(AUTHKIT_ISSUER),,dev-issuer),host)

up:
	@$(MAKE) --no-print-directory -j3 compose $(SERVE_NEEDS)
	@SPIN=$(HAVE_SPIN) HOST=$(HOST) DEV_ISSUER_BIN=$(DEV_ISSUER_BIN) SERVER=$(SERVER) \
		LISTEN=$(LISTEN) DEV_ISSUER=$(DEV_ISSUER) mk/serve.sh

# ---------------------------------------------------------------------------
# Tests
#
#   check        fmt, clippy -D warnings, every native unit test (no fixtures)
#   test         check, then the host tests (integration, attack catalogue, hygiene,
#                trust boundary), Python MCP SDK, OAuth flows, MCP conformance, the
#                same on Spin (skipped without it), fuzz smoke run, cargo-deny, size

.PHONY: check test lint unit-test host-test integration-test hygiene-test python-test \
        oauth-test spin-test conformance-test

check: lint unit-test

test: check host-test python-test oauth-test conformance-test spin-test fuzz-smoke deny size-check

# Clippy and tests: the native crates (the wasm32 ones' logic is tested natively,
# their bindings checked by clippy on wasm32). authkit-host is linted by `host-test`'s
# build (it needs wasmtime: not part of the quick loop).
NATIVE_CRATES := -p wasmcp-spin-authkit -p authkit-keyvalue-guard -p mcp-gateway -p echo-gateway \
                 -p proxy-gateway -p hostile-gateway

lint: wasm-target
	$(CARGO) fmt --all --check
	$(CARGO) clippy $(NATIVE_CRATES) --all-targets -- -D warnings
	$(CARGO) clippy -p wasmcp-spin-authkit -p authkit-keyvalue-guard -p hostile-gateway \
		--target $(WASM_TARGET) -- -D warnings

# The attack catalogue runs here against the core, and writes docs/SECURITY.md's
# table to build/attack-catalogue.md.
unit-test:
	@mkdir -p $(BUILD_DIR)
	AUTHKIT_ATTACK_CATALOGUE=$(abspath $(BUILD_DIR)/attack-catalogue.md) $(CARGO) test $(NATIVE_CRATES)

# Where every test finds the composed servers (`make fixtures`).
FIXTURE_ENV := \
	AUTHKIT_TEST_SERVER_MCP=$(abspath $(BUILD_DIR)/server-mcp.wasm) \
	AUTHKIT_TEST_SERVER_MCP_020=$(abspath $(BUILD_DIR)/server-mcp-0.2.0.wasm) \
	AUTHKIT_TEST_SERVER_ECHO=$(abspath $(BUILD_DIR)/server-echo.wasm) \
	AUTHKIT_TEST_SERVER_HOSTILE=$(abspath $(BUILD_DIR)/server-hostile.wasm) \
	AUTHKIT_TEST_SERVER_UNGUARDED=$(abspath $(SERVER_UNGUARDED)) \
	AUTHKIT_TEST_MIDDLEWARE=$(abspath $(MIDDLEWARE)) \
	AUTHKIT_TEST_GUARD=$(abspath $(GUARD))

# Every test of the native programs: the development issuer, the wasmtime host, and
# the composed servers in it (host/tests/*.rs).
host-test: fixtures
	$(FIXTURE_ENV) $(CARGO) test --profile host -p authkit-dev-issuer $(HOST_PACKAGE)
	$(CARGO) clippy --profile host -p authkit-dev-issuer $(HOST_PACKAGE) --all-targets -- -D warnings

# One test binary of host-test, for a quicker look.
integration-test: fixtures
	$(FIXTURE_ENV) $(CARGO) test --profile host $(HOST_PACKAGE) --test middleware --test jwks_cache \
		--test trust_boundary --test dev_issuer_e2e
hygiene-test: fixtures
	$(FIXTURE_ENV) $(CARGO) test --profile host $(HOST_PACKAGE) --test hygiene

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt

OAUTH_DIR := tests/oauth
$(OAUTH_DIR)/node_modules/.package-lock.json: $(OAUTH_DIR)/package-lock.json
	npm ci --prefix $(OAUTH_DIR) --no-audit --no-fund

# The official Python MCP SDK through the middleware (tests/python).
python-test: fixtures host $(VENV)/bin/python
	$(FIXTURE_ENV) AUTHKIT_TEST_HOST=$(abspath $(HOST)) $(VENV)/bin/python -m pytest -q tests/python

# A real authorization server (node oidc-provider) and real MCP clients (Python and
# TypeScript SDKs, client_credentials, MCP Inspector CLI) through the middleware.
OAUTH_TESTS = \
	(cd $(OAUTH_DIR) && node --test --test-concurrency=1 --test-timeout=300000) && \
	AUTHKIT_TEST_OAUTH_AS=$(abspath $(OAUTH_DIR)/authorization-server.mjs) \
		$(VENV)/bin/python -m pytest -q tests/python/test_oauth_flow.py

oauth-test: fixtures host $(VENV)/bin/python $(OAUTH_DIR)/node_modules/.package-lock.json
	export $(FIXTURE_ENV) AUTHKIT_TEST_HOST=$(abspath $(HOST)); $(OAUTH_TESTS)

# The same suites on Spin itself (`spin up`, where users deploy): the Spin-only
# tests (tests/spin: hostile gateway on Spin's SQLite store, shipped spin.toml),
# then the integration tests, the attack catalogue, the Python MCP SDK and the
# OAuth flows with every server started by tests/spin/spin-serve (authkit-host's
# command line, run by `spin up`). SKIPPED, and says so, when no Spin CLI is found.
SPIN_SERVE := $(abspath tests/spin/spin-serve)
spin-test: fixtures $(VENV)/bin/python $(OAUTH_DIR)/node_modules/.package-lock.json
	@if [ -z "$(HAVE_SPIN)" ]; then \
		echo "== spin-test SKIPPED: no Spin CLI (SPIN=, PATH or ~/.cache/spin/bin/spin; DEVELOPERS.md builds it)"; \
		exit 0; \
	fi; \
	set -ex; \
	export $(FIXTURE_ENV) AUTHKIT_TEST_SPIN=$(HAVE_SPIN) AUTHKIT_TEST_SPIN_SERVE=$(SPIN_SERVE) \
		AUTHKIT_TEST_HOST=$(SPIN_SERVE); \
	$(HAVE_SPIN) --version; \
	$(VENV)/bin/python -m pytest -q -rs tests/spin; \
	$(CARGO) test --profile host $(HOST_PACKAGE) --test middleware --test attacks; \
	$(VENV)/bin/python -m pytest -q tests/python/test_mcp_sdk.py; \
	$(OAUTH_TESTS)

# The MCP conformance suite (@modelcontextprotocol/conformance, server scenarios)
# through the middleware, in front of examples/proxy-gateway pointed at the suite's
# reference tool set; also without a token (all refused). Node 22 from npm, locally.
CONFORMANCE_DIR := tests/conformance

$(CONFORMANCE_DIR)/node_modules/.package-lock.json: $(CONFORMANCE_DIR)/package-lock.json
	npm ci --prefix $(CONFORMANCE_DIR) --no-audit --no-fund

conformance-test: fixtures host $(CONFORMANCE_DIR)/node_modules/.package-lock.json
	$(CONFORMANCE_DIR)/node_modules/.bin/node $(CONFORMANCE_DIR)/run.mjs \
		--host $(HOST) --server $(BUILD_DIR)/server-proxy.wasm --out $(BUILD_DIR)/conformance

clean:
	$(CARGO) clean
	rm -rf $(BUILD_DIR) $(SERVER)

include $(filter-out mk/tools.mk,$(wildcard mk/*.mk))
