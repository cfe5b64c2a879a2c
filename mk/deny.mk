# Supply chain (docs/SECURITY.md): cargo-deny. (Hygiene, that no token reaches an
# answer, the log or the store: host/tests/hygiene.rs, `make hygiene-test`.)
#
#   make deny              licenses, bans, sources of the whole workspace (offline)
#   make deny-advisories   RustSec advisories (needs github.com; skipped, exit 0, when
#                          the database cannot be fetched; findings fail)

# Fetching the RustSec database (a git clone from github.com) is time-limited, so
# that an unreachable network cannot hang the build.
ADVISORY_FETCH_TIMEOUT ?= 120

.PHONY: deny deny-advisories

# Every workspace member is a root (the root manifest is also a package, which alone
# would be the graph otherwise); --locked: check the committed Cargo.lock. Crates not
# yet in cargo's cache are downloaded from crates.io for `cargo metadata`; licenses,
# bans and sources need no advisory database (set CARGO_NET_OFFLINE=true to forbid
# any network once the cache is filled).
DENY_FLAGS := --config deny.toml --workspace --locked

deny: $(CARGO_DENY)
	$(CARGO_DENY) $(DENY_FLAGS) check --hide-inclusion-graph licenses bans sources

deny-advisories: $(CARGO_DENY)
	@if ! timeout $(ADVISORY_FETCH_TIMEOUT) $(CARGO_DENY) --config deny.toml fetch db </dev/null; then \
		echo "deny-advisories: skipped: advisory database unreachable (github.com); see docs/SECURITY.md for the manual review"; \
		exit 0; \
	fi; \
	$(CARGO_DENY) $(DENY_FLAGS) check --hide-inclusion-graph advisories
