# Size of the middleware component (docs/PERFORMANCE.md, "## Size").
#
#   make middleware-opt   cargo's component with its core module through `wasm-opt -Oz`
#                         -> $(MIDDLEWARE_OPT) (same WIT, about 19 % smaller)
#   make size-check       fails when $(MIDDLEWARE_OPT) exceeds $(SIZE_LIMIT) bytes
#   make size-report      section sizes and the largest functions (needs wasm-tools, twiggy)
#
# wasm-opt (binaryen) from PATH (Debian: apt-get install binaryen), else built into
# .tools by cargo (the wasm-opt crate bundles binaryen's sources; slow, needs a C++ compiler).
WASM_OPT ?= $(shell command -v wasm-opt 2>/dev/null || echo $(TOOLS_DIR)/bin/wasm-opt)
# Every feature rustc enables by default on wasm32-wasip2, spelled out for binaryen 108
# (Debian 12), which reads them from no section of an embedded module.
WASM_OPT_FLAGS ?= -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
                  --enable-mutable-globals --enable-multivalue --enable-reference-types

# cargo's output (the root Makefile's MIDDLEWARE may point at MIDDLEWARE_OPT instead).
MIDDLEWARE_CARGO := $(RELEASE_DIR)/wasmcp_spin_authkit.wasm
MIDDLEWARE_OPT   := $(BUILD_DIR)/wasmcp_spin_authkit.wasm
COMPONENT_MODULE := $(PYTHON) mk/component-module.py
# size-report only: from PATH, else installed into .tools.
WASM_TOOLS := $(shell command -v wasm-tools 2>/dev/null || echo $(TOOLS_DIR)/bin/wasm-tools)
TWIGGY     := $(shell command -v twiggy 2>/dev/null || echo $(TOOLS_DIR)/bin/twiggy)

# The budget of issue 6 is 307,200 bytes (300 KiB) with every algorithm. With jwt-simple
# it cannot be met on stable Rust: the floor measured after wasm-opt is 578,871 bytes
# (main at cbac8bd, rustc 1.95, binaryen 108; docs/PERFORMANCE.md "## Size"), so the
# check holds that floor + 5 %. Lower it as the floor drops.
SIZE_BUDGET := 307200
SIZE_FLOOR  := 578871
SIZE_LIMIT  ?= 607814

.PHONY: middleware-opt size-check size-report

$(TOOLS_DIR)/bin/wasm-opt:
	$(CARGO) install --locked --root $(TOOLS_DIR) wasm-opt@0.116.1

$(TOOLS_DIR)/bin/wasm-tools:
	$(CARGO) install --locked --root $(TOOLS_DIR) wasm-tools@1.263.0

$(TOOLS_DIR)/bin/twiggy:
	$(CARGO) install --locked --root $(TOOLS_DIR) twiggy@0.8.0

# The key-value guard (guard/), optimised the same way.
GUARD_OPT := $(BUILD_DIR)/authkit_keyvalue_guard.wasm

# Only the main core module is rewritten; the component around it is copied as is.
$(MIDDLEWARE_OPT) $(GUARD_OPT): $(BUILD_DIR)/%.wasm: $(RELEASE_DIR)/%.wasm mk/component-module.py | $(WASM_OPT)
	@mkdir -p $(@D)
	$(COMPONENT_MODULE) extract $< $@.core.wasm
	$(WASM_OPT) $(WASM_OPT_FLAGS) $@.core.wasm -o $@.core.opt.wasm
	$(COMPONENT_MODULE) replace $< $@.core.opt.wasm $@.tmp
	@rm -f $@.core.wasm $@.core.opt.wasm
	@mv $@.tmp $@
	@echo "$@: $$(stat -c %s $@) bytes (cargo: $$(stat -c %s $<))"

# The shipped artifacts, both through wasm-opt: build/wasmcp_spin_authkit.wasm and
# build/authkit_keyvalue_guard.wasm.
.PHONY: dist
dist:
	$(CARGO) build --release --target $(WASM_TARGET) -p wasmcp-spin-authkit -p authkit-keyvalue-guard
	@$(MAKE) --no-print-directory $(MIDDLEWARE_OPT) $(GUARD_OPT)

# Builds with cargo first (the root Makefile's `middleware` target).
middleware-opt:
	$(CARGO) build --release --target $(WASM_TARGET) -p wasmcp-spin-authkit
	@$(MAKE) --no-print-directory $(MIDDLEWARE_OPT)

size-check: middleware-opt
	@size=$$(stat -c %s $(MIDDLEWARE_OPT)); \
	if [ $$size -gt $(SIZE_LIMIT) ]; then \
		echo "size-check: $(MIDDLEWARE_OPT) is $$size bytes, over the limit of $(SIZE_LIMIT)" >&2; \
		exit 1; \
	fi; \
	echo "size-check: $(MIDDLEWARE_OPT) is $$size bytes (limit $(SIZE_LIMIT), budget $(SIZE_BUDGET))"

# Where the bytes go: sections of the optimized core module, then the 30 largest
# functions of an unstripped build (own target dir: other flags than `make middleware`).
SIZE_TARGET_DIR := $(TARGET_DIR)/size-names
size-report: middleware-opt | $(WASM_TOOLS) $(TWIGGY)
	$(COMPONENT_MODULE) extract $(MIDDLEWARE_OPT) $(BUILD_DIR)/size-core.wasm
	$(WASM_TOOLS) objdump $(BUILD_DIR)/size-core.wasm | grep -v 'custom "component-type'
	RUSTFLAGS="-C link-arg=--skip-wit-component" CARGO_PROFILE_RELEASE_STRIP=false \
		$(CARGO) build --release --target $(WASM_TARGET) -p wasmcp-spin-authkit \
		--target-dir $(SIZE_TARGET_DIR)
	$(TWIGGY) top -n 30 $(SIZE_TARGET_DIR)/$(WASM_TARGET)/release/wasmcp_spin_authkit.wasm
