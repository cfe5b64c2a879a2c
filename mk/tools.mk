# Every tool the build installs, pinned in one place. Each is taken from PATH when
# there, else installed project-locally into .tools/ (cargo install --locked).
#
#   wac         composes the middleware with a gateway (make compose, fixtures)
#   wasm-opt    size-optimises the shipped components (make dist); Debian: binaryen
#   cargo-fuzz  fuzz targets (make fuzz, fuzz-smoke)
#   cargo-deny  supply-chain checks (make deny)
#   oha         HTTP load generator (make bench-load)
#   wasm-tools, twiggy   make size-report only

WAC_VERSION        := 0.12.0
WASM_OPT_VERSION   := 0.116.1
CARGO_FUZZ_VERSION := 0.13.2
CARGO_DENY_VERSION := 0.20.2
OHA_VERSION        := 1.16.0
WASM_TOOLS_VERSION := 1.263.0
TWIGGY_VERSION     := 0.8.0

TOOL_INSTALL := $(CARGO) install --locked --root $(TOOLS_DIR)
WAC          := $(shell command -v wac 2>/dev/null || echo $(TOOLS_DIR)/bin/wac)
WASM_OPT     ?= $(shell command -v wasm-opt 2>/dev/null || echo $(TOOLS_DIR)/bin/wasm-opt)
CARGO_FUZZ   := $(TOOLS_DIR)/bin/cargo-fuzz
CARGO_DENY   := $(TOOLS_DIR)/bin/cargo-deny
OHA          := $(TOOLS_DIR)/bin/oha
WASM_TOOLS   := $(shell command -v wasm-tools 2>/dev/null || echo $(TOOLS_DIR)/bin/wasm-tools)
TWIGGY       := $(shell command -v twiggy 2>/dev/null || echo $(TOOLS_DIR)/bin/twiggy)

.PHONY: tools wasm-target
tools: $(WAC)

# rustup installs rust-toolchain.toml's target only with the toolchain itself: on a
# machine that already has Rust 1.95.0, add it here (a no-op once present).
wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# Without its registry client (warg, reqwest, TLS): compositions here name local
# files only, and the install takes a fraction of the time.
$(TOOLS_DIR)/bin/wac:
	@echo "== installing wac $(WAC_VERSION) into $(TOOLS_DIR) (once per clone)"
	$(TOOL_INSTALL) --no-default-features --features wit wac-cli@$(WAC_VERSION)

# The wasm-opt crate bundles binaryen's sources: slow, needs a C++ compiler. Prefer
# a packaged binaryen on PATH.
$(TOOLS_DIR)/bin/wasm-opt:
	$(TOOL_INSTALL) wasm-opt@$(WASM_OPT_VERSION)

$(CARGO_FUZZ):
	$(TOOL_INSTALL) cargo-fuzz@$(CARGO_FUZZ_VERSION)

$(CARGO_DENY):
	$(TOOL_INSTALL) cargo-deny@$(CARGO_DENY_VERSION)

# Plain HTTP only (no TLS stack).
$(OHA):
	$(TOOL_INSTALL) oha@$(OHA_VERSION)

$(TOOLS_DIR)/bin/wasm-tools:
	$(TOOL_INSTALL) wasm-tools@$(WASM_TOOLS_VERSION)

$(TOOLS_DIR)/bin/twiggy:
	$(TOOL_INSTALL) twiggy@$(TWIGGY_VERSION)
