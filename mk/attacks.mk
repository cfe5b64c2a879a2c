# The attack catalogue (host/tests/attacks.rs): one row per attack against the composed
# server, each with its exact status and challenge; legitimate control rows must reach
# the gateway. Also writes the table of docs/SECURITY.md "Attack catalogue" to
# build/attack-catalogue.md.
.PHONY: attack-test
attack-test: fixtures
	AUTHKIT_TEST_SERVER_MCP=$(abspath $(SERVER_024)) \
	AUTHKIT_ATTACK_CATALOGUE=$(abspath $(BUILD_DIR)/attack-catalogue.md) \
	$(CARGO) test --profile host -p authkit-host --test attacks
