# Benchmarks (not tests): `make bench` runs them all, one after the other, and
# writes one summary to build/bench/results.md (also printed). docs/PERFORMANCE.md
# says what each measures.
#
#   make bench               everything below, then the summary
#   make bench-load          oha against the local host: A gateway alone, B RS256,
#                            C ES256/EdDSA, D bad signature; A, B, D on `spin up`
#                            when a Spin CLI is found; and bench/peers/<name>/
#   make bench-verify        signature verification: Criterion (native) vs the same
#                            loop in a wasm32-wasip2 component under wasmtime
#   make bench-instantiate   Store + instantiation per request, gateway vs composed
#   make bench-pareto        not in `make bench` (about 20 min): candidate builds
#                            (opt-levels per crate, wasm-opt level, nightly build-std),
#                            shipped bytes vs RS256/PS256/ES256/EdDSA verification in
#                            wasm, Pareto-optimal rows -> $(BENCH_DIR)/pareto.md
#                            (bench/pareto.py; builds in $(TARGET_DIR)/pareto/<name>)
#
# Knobs: BENCH_DURATION (s per load run), BENCH_WARMUP (s before each),
# BENCH_VERIFY_SECONDS (s per algorithm in the loop), BENCH_INSTANTIATIONS,
# BENCH_PARETO_ROUNDS (verification runs per candidate, fastest counts),
# BENCH_PARETO_ONLY (comma-separated candidate names; default all).

BENCH_DIR            := $(BUILD_DIR)/bench
BENCH_PEERS          ?= bench/peers
BENCH_DURATION       ?= 10
BENCH_WARMUP         ?= 2
BENCH_VERIFY_SECONDS ?= 2
BENCH_INSTANTIATIONS ?= 2000
BENCH_PARETO_ROUNDS  ?= 3
BENCH_PARETO_ONLY    ?=
VERIFY_LOOP_WASM     := $(RELEASE_DIR)/examples/verify_loop.wasm
VERIFY_LOOP_NATIVE   := $(TARGET_DIR)/release/examples/verify_loop
HOST_EXAMPLES        := $(TARGET_DIR)/host/examples

.PHONY: bench bench-tools bench-load bench-verify bench-instantiate bench-pareto bench-report

bench-tools: $(OHA) tools

bench:
	@mkdir -p $(BENCH_DIR)
	@cat /proc/loadavg > $(BENCH_DIR)/loadavg-start
	$(MAKE) --no-print-directory bench-verify
	$(MAKE) --no-print-directory bench-instantiate
	$(MAKE) --no-print-directory bench-load
	@cat /proc/loadavg > $(BENCH_DIR)/loadavg-end
	@$(MAKE) --no-print-directory bench-report

# The host's per-request log lines go to $(BENCH_DIR)/load.log.
bench-load: bench-tools fixtures
	@mkdir -p $(BENCH_DIR)
	$(CARGO) build --profile host $(HOST_PACKAGE) --example bench_load
	@[ -n "$(HAVE_SPIN)" ] || echo "== bench-load: the Spin cases are SKIPPED: no Spin CLI (DEVELOPERS.md builds it)"
	AUTHKIT_TEST_SPIN=$(HAVE_SPIN) $(HOST_EXAMPLES)/bench_load --oha $(OHA) \
		--gateway $(EXAMPLE_GATEWAY) --server $(BUILD_DIR)/server-mcp.wasm --peers $(abspath $(BENCH_PEERS)) \
		$(if $(HAVE_SPIN),--spin-serve $(SPIN_SERVE)) \
		--duration $(BENCH_DURATION) --warmup $(BENCH_WARMUP) \
		--out $(BENCH_DIR)/load.md 2> $(BENCH_DIR)/load.log

bench-verify: wasm-target
	@mkdir -p $(BENCH_DIR)
	$(CARGO) bench -p wasmcp-spin-authkit --bench verify
	$(CARGO) build --release -p wasmcp-spin-authkit --example verify_loop
	$(CARGO) build --release --target $(WASM_TARGET) -p wasmcp-spin-authkit --example verify_loop
	$(CARGO) build --profile host $(HOST_PACKAGE) --example bench_verify_wasm
	$(HOST_EXAMPLES)/bench_verify_wasm --wasm $(VERIFY_LOOP_WASM) \
		--native $(VERIFY_LOOP_NATIVE) --criterion $(TARGET_DIR)/criterion \
		--seconds $(BENCH_VERIFY_SECONDS) --out $(BENCH_DIR)/verify.md

bench-instantiate: fixtures
	@mkdir -p $(BENCH_DIR)
	$(CARGO) build --profile host $(HOST_PACKAGE) --example bench_instantiate
	$(HOST_EXAMPLES)/bench_instantiate --n $(BENCH_INSTANTIATIONS) \
		--out $(BENCH_DIR)/instantiate.md \
		"A gateway alone=$(EXAMPLE_GATEWAY)" "B middleware + gateway=$(BUILD_DIR)/server-mcp.wasm"

# One cargo build at a time; the Makefile's WASM_OPT_FLAGS (the -O level per candidate).
bench-pareto: wasm-target | $(WASM_OPT)
	@mkdir -p $(BENCH_DIR)
	$(CARGO) build --profile host $(HOST_PACKAGE) --example bench_verify_wasm
	WASM_OPT="$(WASM_OPT)" WASM_OPT_FLAGS="$(WASM_OPT_FLAGS)" $(PYTHON) bench/pareto.py \
		--driver $(HOST_EXAMPLES)/bench_verify_wasm --target-dir $(TARGET_DIR)/pareto \
		--seconds $(BENCH_VERIFY_SECONDS) --rounds $(BENCH_PARETO_ROUNDS) \
		$(if $(BENCH_PARETO_ONLY),--only $(BENCH_PARETO_ONLY)) --out $(BENCH_DIR)/pareto.md

# Assembles what the runs above wrote (a missing part says so).
bench-report:
	@mkdir -p $(BENCH_DIR)
	@{ \
		echo "# make bench"; echo; \
		echo "- date: $$(date -u '+%Y-%m-%d %H:%M UTC')"; \
		echo "- commit: $$(git rev-parse --short HEAD 2>/dev/null)$$(git diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"; \
		echo "- machine: $$(nproc) CPUs,$$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $$(awk '/MemTotal/ {printf "%.1f GiB", $$2/1048576}' /proc/meminfo)"; \
		echo "- rustc: $$(rustc --version)"; \
		echo "- load average (1/5/15 min) at start: $$(cut -d' ' -f1-3 $(BENCH_DIR)/loadavg-start 2>/dev/null || echo n/a), at end: $$(cut -d' ' -f1-3 $(BENCH_DIR)/loadavg-end 2>/dev/null || echo n/a)"; \
		echo; echo "## Load (oha $(OHA_VERSION))"; echo; \
		cat $(BENCH_DIR)/load.md 2>/dev/null || echo "not run (make bench-load)"; \
		echo; echo "## Signature verification, ns per token (signature + claims)"; echo; \
		cat $(BENCH_DIR)/verify.md 2>/dev/null || echo "not run (make bench-verify)"; \
		echo; echo "## Store + instantiation per request"; echo; \
		cat $(BENCH_DIR)/instantiate.md 2>/dev/null || echo "not run (make bench-instantiate)"; \
	} > $(BENCH_DIR)/results.md
	@cat $(BENCH_DIR)/results.md
	@echo; echo "written to $(BENCH_DIR)/results.md"
