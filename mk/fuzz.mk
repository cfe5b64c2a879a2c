# Fuzzing: cargo-fuzz (libFuzzer) targets in fuzz/ (its own workspace and Cargo.lock).
#
#   make fuzz-smoke                  replay each committed corpus, then fuzz each target
#                                    for FUZZ_SMOKE_SECONDS (5 s): a regression check
#   make fuzz FUZZ_SECONDS=600       fuzz each target for FUZZ_SECONDS, one after another;
#                                    new inputs go to fuzz/work/<target> (not committed)
#   make fuzz FUZZ_TARGETS=token_verify FUZZ_SECONDS=3600
#
# libFuzzer needs nightly rustc flags: `cargo +nightly` when rustup has a nightly
# toolchain, else the stable one with RUSTC_BOOTSTRAP=1. Built without a sanitizer
# (`-s none`: the core forbids `unsafe`) and with debug assertions, so that integer
# overflows panic. A finding is saved under fuzz/artifacts/<target>/.

FUZZ_DIR           := fuzz
FUZZ_TARGETS       ?= token_verify token_mutate token_claims authorization_header \
                      jwks_parse config cache_entry discovery verified_store
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_SECONDS       ?= 600
FUZZ_FLAGS         := -a -s none
FUZZ_TOOLCHAIN     := $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo +nightly)
FUZZ_CARGO         := PATH="$(abspath $(TOOLS_DIR))/bin:$$PATH" \
                      $(if $(FUZZ_TOOLCHAIN),,RUSTC_BOOTSTRAP=1) $(CARGO) $(FUZZ_TOOLCHAIN) fuzz

.PHONY: fuzz-tools fuzz-build fuzz-smoke fuzz

fuzz-tools: $(CARGO_FUZZ)

fuzz-build: $(CARGO_FUZZ)
	cd $(FUZZ_DIR) && $(FUZZ_CARGO) build $(FUZZ_FLAGS)

# Each target: every committed input (must not fail), then FUZZ_SMOKE_SECONDS of
# fuzzing from it into a throw-away corpus.
fuzz-smoke: fuzz-build
	@set -e; cd $(FUZZ_DIR); for t in $(FUZZ_TARGETS); do \
		scratch=$$(mktemp -d); mkdir $$scratch/corpus; \
		echo "== fuzz-smoke $$t: $$(ls corpus/$$t | wc -l) committed inputs, then $(FUZZ_SMOKE_SECONDS) s"; \
		if ! $(FUZZ_CARGO) run $(FUZZ_FLAGS) $$t $$scratch/corpus corpus/$$t -- \
			-max_total_time=$(FUZZ_SMOKE_SECONDS) -timeout=30 -print_final_stats=1 \
			> $$scratch/log 2>&1; then \
			tail -n 60 $$scratch/log >&2; rm -rf $$scratch; \
			echo "fuzz-smoke: $$t failed; reproducer in $(FUZZ_DIR)/artifacts/$$t/" >&2; exit 1; \
		fi; \
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' $$scratch/log | tr '\n' ' '; echo; \
		rm -rf $$scratch; \
	done

fuzz: fuzz-build
	@set -e; cd $(FUZZ_DIR); for t in $(FUZZ_TARGETS); do \
		mkdir -p work/$$t; \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s (corpus: work/$$t + corpus/$$t)"; \
		$(FUZZ_CARGO) run $(FUZZ_FLAGS) $$t work/$$t corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=30 -print_final_stats=1; \
	done
