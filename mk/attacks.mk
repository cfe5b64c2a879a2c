# The attack catalogue (host/tests/attacks.rs): one row per attack against the composed
# server, each with its exact status and challenge; legitimate control rows must reach
# the gateway. Also writes the table of docs/SECURITY.md "Attack catalogue" to
# build/attack-catalogue.md.
.PHONY: attack-test
attack-test: fixtures
	$(FIXTURE_ENV) $(CARGO) test --profile host $(HOST_PACKAGE) --test attacks
