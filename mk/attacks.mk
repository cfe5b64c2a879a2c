# The attack catalogue (tests/support/catalogue.rs): one row per attack, each with its
# exact status and challenge; legitimate control rows must be let through. `make
# unit-test` runs every row against the core; this target sends the representative
# subset through the composed server over HTTP (host/tests/attacks.rs).
.PHONY: attack-test
attack-test: fixtures
	$(FIXTURE_ENV) $(CARGO) test --profile host $(HOST_PACKAGE) --test attacks
