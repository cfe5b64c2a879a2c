# wasmcp-spin-authkit: build, compose, run and test.
#
#   make up                      compose the example gateway behind the middleware and serve it
#                                (no AUTHKIT_ISSUER: with a local development issuer and a token)
#   make up GATEWAY=gw.wasm      ... in front of your own wasmcp-spin build
#   make test                    every test (unit, host, integration, Python MCP SDK)
#   make compose GATEWAY=gw.wasm only write server.wasm

SHELL := /bin/bash
.DEFAULT_GOAL := build

CARGO        ?= cargo
PYTHON       ?= python3
WASM_TARGET  := wasm32-wasip2
TARGET_DIR   := target
RELEASE_DIR  := $(TARGET_DIR)/$(WASM_TARGET)/release
TOOLS_DIR    := .tools

# Shipped: cargo's component with its core module through `wasm-opt -Oz` (mk/size.mk;
# `make dist`). Without wasm-opt on PATH, `make up`, `make compose` and the tests use
# cargo's output as is (same WIT, about 20 % larger) instead of building binaryen.
HAVE_WASM_OPT   := $(shell command -v wasm-opt 2>/dev/null)
MIDDLEWARE      := $(if $(HAVE_WASM_OPT),build,$(RELEASE_DIR))/wasmcp_spin_authkit.wasm
# Serves the gateway's key-value imports, keeping it out of the middleware's keys
# (guard/, compose.wac).
GUARD           := $(if $(HAVE_WASM_OPT),build,$(RELEASE_DIR))/authkit_keyvalue_guard.wasm
EXAMPLE_GATEWAY := $(RELEASE_DIR)/mcp_gateway.wasm
# The same example built as spin-sdk 3 / cargo-component builds are: exporting
# wasi:http/incoming-handler@0.2.0 (separate target dir: same crate, other feature).
GATEWAY_020     := $(TARGET_DIR)/wasi-http-0.2.0/$(WASM_TARGET)/release/mcp_gateway.wasm
ECHO_GATEWAY    := $(RELEASE_DIR)/echo_gateway.wasm
HOST            := $(TARGET_DIR)/host/authkit-host
# The development issuer alone (dev-issuer/: no wasmtime), next to `spin up`.
DEV_ISSUER_BIN  := $(TARGET_DIR)/host/authkit-dev-issuer

GATEWAY ?= $(EXAMPLE_GATEWAY)
SERVER  ?= server.wasm
LISTEN  ?= 127.0.0.1:3000
# `make up` without AUTHKIT_ISSUER: the local development issuer's address (fixed port).
DEV_ISSUER ?= 127.0.0.1:3001

# Test fixtures: the middleware composed with each test gateway.
BUILD_DIR      := build
SERVER_024     := $(BUILD_DIR)/server-mcp.wasm
SERVER_020     := $(BUILD_DIR)/server-mcp-0.2.0.wasm
SERVER_ECHO    := $(BUILD_DIR)/server-echo.wasm
# Test-only attacker (examples/hostile-gateway): behind the guard, and (wasi-only
# build) composed without it by misusing compose-no-keyvalue.wac, to show what
# the guard prevents.
HOSTILE_GATEWAY      := $(RELEASE_DIR)/hostile_gateway.wasm
HOSTILE_GATEWAY_WASI := $(TARGET_DIR)/hostile-wasi/$(WASM_TARGET)/release/hostile_gateway.wasm
SERVER_HOSTILE       := $(BUILD_DIR)/server-hostile.wasm
SERVER_UNGUARDED     := $(BUILD_DIR)/server-hostile-unguarded.wasm

# Spin: from PATH, else the out-of-tree build DEVELOPERS.md describes, if present.
SPIN ?= $(shell command -v spin 2>/dev/null || echo $(HOME)/.cache/spin/bin/spin)

# wac: from PATH, else installed into .tools by `make tools`.
WAC := $(shell command -v wac 2>/dev/null || echo $(TOOLS_DIR)/bin/wac)
VENV := .venv
OAUTH_DIR := tests/oauth

.PHONY: build middleware gateways host dev-issuer tools compose up test unit-test host-test \
        integration-test python-test oauth-test fixtures lint clean size bench-cache

build: middleware gateways

middleware:
	$(CARGO) build --release --target $(WASM_TARGET) -p wasmcp-spin-authkit -p authkit-keyvalue-guard
	@$(MAKE) --no-print-directory $(MIDDLEWARE) $(GUARD)

gateways:
	$(CARGO) build --release --target $(WASM_TARGET) -p mcp-gateway -p echo-gateway -p hostile-gateway
	$(CARGO) build --release --target $(WASM_TARGET) -p hostile-gateway --no-default-features \
		--target-dir $(TARGET_DIR)/hostile-wasi
	$(CARGO) build --release --target $(WASM_TARGET) -p mcp-gateway --features wasi-http-0-2-0 \
		--target-dir $(TARGET_DIR)/wasi-http-0.2.0

host:
	@[ -x $(HOST) ] || echo "== building the local wasmtime host (host/; the first build takes about 20 min on 2 cores)"
	$(CARGO) build --profile host -p authkit-host

dev-issuer:
	$(CARGO) build --profile host -p authkit-dev-issuer

tools: $(WAC)

# Without the registry client (warg, reqwest, TLS): compositions here name local
# files only, and the install takes a fraction of the time.
$(TOOLS_DIR)/bin/wac:
	@echo "== installing wac 0.12.0 into $(TOOLS_DIR) (once per clone)"
	$(CARGO) install --locked --root $(TOOLS_DIR) --no-default-features --features wit wac-cli@0.12.0

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

# Serve the protected MCP endpoint at http://$(LISTEN)/mcp (mk/serve.sh): `spin up`
# when Spin is installed, else the bundled wasmtime host (same variables, a fresh
# instance per request). Without AUTHKIT_ISSUER: with the local DEVELOPMENT-ONLY
# issuer on $(DEV_ISSUER), which prints a bearer token and commands to try.
# Only what serving needs is built, side by side: server.wasm, and the development
# issuer (with Spin, no AUTHKIT_ISSUER) or the wasmtime host (without Spin).
HAVE_SPIN   := $(shell command -v $(SPIN) 2>/dev/null)
SERVE_NEEDS := $(if $(HAVE_SPIN),$(if $(AUTHKIT_ISSUER),,dev-issuer),host)

up:
	@$(MAKE) --no-print-directory -j3 compose $(SERVE_NEEDS)
	@SPIN=$(HAVE_SPIN) HOST=$(HOST) DEV_ISSUER_BIN=$(DEV_ISSUER_BIN) SERVER=$(SERVER) \
		LISTEN=$(LISTEN) DEV_ISSUER=$(DEV_ISSUER) mk/serve.sh

# ---------------------------------------------------------------------------
# Tests

# Security (issue 5): attack catalogue, hygiene, fuzz smoke run, cargo-deny; and the
# size budget. Their targets live in mk/*.mk.
test: lint unit-test host-test integration-test attack-test hygiene-test python-test spin-test \
      oauth-test conformance-test fuzz-smoke deny size-check

# The quick loop: format, clippy and the unit tests (no wasm fixtures, no servers).
.PHONY: check
check: lint unit-test

unit-test:
	$(CARGO) test -p wasmcp-spin-authkit -p authkit-keyvalue-guard -p mcp-gateway -p echo-gateway \
		-p proxy-gateway -p hostile-gateway

host-test:
	$(CARGO) test --profile host -p authkit-dev-issuer
	$(CARGO) test --profile host -p authkit-host --lib --bins --test serve --test cli --test manifests

fixtures: build tools
	@mkdir -p $(BUILD_DIR)
	$(call compose-server,$(EXAMPLE_GATEWAY),$(SERVER_024))
	$(call compose-server,$(GATEWAY_020),$(SERVER_020))
	$(call compose-server,$(ECHO_GATEWAY),$(SERVER_ECHO))
	$(call compose-server,$(HOSTILE_GATEWAY),$(SERVER_HOSTILE))
	$(WAC) compose compose-no-keyvalue.wac --dep wasmcp:gateway=$(HOSTILE_GATEWAY_WASI) \
		--dep wasmcp:authkit=$(MIDDLEWARE) -o $(SERVER_UNGUARDED)

integration-test: fixtures
	AUTHKIT_TEST_SERVER_MCP=$(abspath $(SERVER_024)) \
	AUTHKIT_TEST_SERVER_MCP_020=$(abspath $(SERVER_020)) \
	AUTHKIT_TEST_SERVER_ECHO=$(abspath $(SERVER_ECHO)) \
	AUTHKIT_TEST_SERVER_HOSTILE=$(abspath $(SERVER_HOSTILE)) \
	AUTHKIT_TEST_SERVER_UNGUARDED=$(abspath $(SERVER_UNGUARDED)) \
	AUTHKIT_TEST_MIDDLEWARE=$(abspath $(MIDDLEWARE)) \
	$(CARGO) test --profile host -p authkit-host --test middleware --test jwks_cache --test dev_issuer_e2e \
		--test trust_boundary

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt

python-test: fixtures host $(VENV)/bin/python
	AUTHKIT_TEST_SERVER_MCP=$(abspath $(SERVER_024)) \
	AUTHKIT_TEST_HOST=$(abspath $(HOST)) \
	AUTHKIT_TEST_GUARD=$(abspath $(GUARD)) \
	$(VENV)/bin/python -m pytest -q tests/python

# The same suites on Spin itself (`spin up`, where users deploy): the Spin-only
# tests (tests/spin: hostile gateway on Spin's SQLite store, shipped spin.toml),
# then the integration tests, the attack catalogue, the Python MCP SDK and the
# OAuth flows with every server started by tests/spin/spin-serve (authkit-host's
# command line, run by `spin up`). SKIPPED, and says so, when no Spin CLI is found.
SPIN_SERVE := $(abspath tests/spin/spin-serve)
.PHONY: spin-test
spin-test: fixtures $(VENV)/bin/python $(OAUTH_DIR)/node_modules/.package-lock.json
	@spin=$$(command -v $(SPIN) || true); \
	if [ -z "$$spin" ]; then \
		echo "== spin-test SKIPPED: no Spin CLI (SPIN=, PATH or ~/.cache/spin/bin/spin; DEVELOPERS.md builds it)"; \
		exit 0; \
	fi; \
	set -ex; \
	export AUTHKIT_TEST_SPIN=$$spin AUTHKIT_TEST_SPIN_SERVE=$(SPIN_SERVE) \
		AUTHKIT_TEST_SERVER_MCP=$(abspath $(SERVER_024)) \
		AUTHKIT_TEST_SERVER_MCP_020=$(abspath $(SERVER_020)) \
		AUTHKIT_TEST_SERVER_ECHO=$(abspath $(SERVER_ECHO)) \
		AUTHKIT_TEST_SERVER_HOSTILE=$(abspath $(SERVER_HOSTILE)) \
		AUTHKIT_TEST_SERVER_UNGUARDED=$(abspath $(SERVER_UNGUARDED)) \
		AUTHKIT_TEST_HOST=$(SPIN_SERVE); \
	$$spin --version; \
	$(VENV)/bin/python -m pytest -q -rs tests/spin; \
	$(CARGO) test --profile host -p authkit-host --test middleware --test attacks; \
	$(VENV)/bin/python -m pytest -q tests/python/test_mcp_sdk.py; \
	(cd $(OAUTH_DIR) && node --test --test-concurrency=1 --test-timeout=300000); \
	AUTHKIT_TEST_OAUTH_AS=$(abspath $(OAUTH_DIR)/authorization-server.mjs) \
		$(VENV)/bin/python -m pytest -q tests/python/test_oauth_flow.py

# A real authorization server (node oidc-provider) and real MCP clients (Python and
# TypeScript SDKs, client_credentials, MCP Inspector CLI) through the middleware.
$(OAUTH_DIR)/node_modules/.package-lock.json: $(OAUTH_DIR)/package-lock.json
	npm ci --prefix $(OAUTH_DIR) --no-audit --no-fund

oauth-test: fixtures host $(VENV)/bin/python $(OAUTH_DIR)/node_modules/.package-lock.json
	cd $(OAUTH_DIR) && \
	AUTHKIT_TEST_SERVER_MCP=$(abspath $(SERVER_024)) \
	AUTHKIT_TEST_HOST=$(abspath $(HOST)) \
	node --test --test-concurrency=1 --test-timeout=300000
	AUTHKIT_TEST_SERVER_MCP=$(abspath $(SERVER_024)) \
	AUTHKIT_TEST_HOST=$(abspath $(HOST)) \
	AUTHKIT_TEST_OAUTH_AS=$(abspath $(OAUTH_DIR)/authorization-server.mjs) \
	$(VENV)/bin/python -m pytest -q tests/python/test_oauth_flow.py

# The MCP conformance suite (@modelcontextprotocol/conformance, server scenarios)
# through the middleware, in front of examples/proxy-gateway pointed at the suite's
# reference tool set; also without a token (all refused). Node 22 from npm, locally.
CONFORMANCE_DIR := tests/conformance
PROXY_GATEWAY   := $(RELEASE_DIR)/proxy_gateway.wasm
SERVER_PROXY    := $(BUILD_DIR)/server-proxy.wasm

$(CONFORMANCE_DIR)/node_modules/.package-lock.json: $(CONFORMANCE_DIR)/package-lock.json
	npm ci --prefix $(CONFORMANCE_DIR) --no-audit --no-fund

.PHONY: conformance-test
conformance-test: middleware tools host $(CONFORMANCE_DIR)/node_modules/.package-lock.json
	$(CARGO) test -p proxy-gateway
	$(CARGO) build --release --target $(WASM_TARGET) -p proxy-gateway
	@mkdir -p $(BUILD_DIR)
	$(call compose-server,$(PROXY_GATEWAY),$(SERVER_PROXY))
	$(CONFORMANCE_DIR)/node_modules/.bin/node $(CONFORMANCE_DIR)/run.mjs \
		--host $(HOST) --server $(SERVER_PROXY) --out $(BUILD_DIR)/conformance

# Benchmark (not a test): authenticated request latency, warm vs cold JWKS cache.
bench-cache: fixtures
	$(CARGO) run --quiet --profile host -p authkit-host --example bench_jwks_cache -- $(SERVER_024) 2>/dev/null

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy -p wasmcp-spin-authkit -p authkit-keyvalue-guard -p mcp-gateway -p echo-gateway \
		-p proxy-gateway -p hostile-gateway -p authkit-dev-issuer --all-targets -- -D warnings
	$(CARGO) clippy -p wasmcp-spin-authkit -p authkit-keyvalue-guard -p hostile-gateway \
		--target $(WASM_TARGET) -- -D warnings

size: middleware
	@echo "$(MIDDLEWARE): $$(stat -c %s $(MIDDLEWARE)) bytes"

clean:
	$(CARGO) clean
	rm -rf $(BUILD_DIR) $(SERVER)

# Fragments: security (fuzz, deny), size, bench. Each file owns its own targets.
include $(wildcard mk/*.mk)
