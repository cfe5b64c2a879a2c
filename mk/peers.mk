# Benchmark peers (bench/peers/README.md): FastMCP, the TypeScript SDK and rmcp, each
# behind RS256/JWKS bearer auth. `make peers-check` installs them (project-local, pinned)
# and smoke-checks each: 200 for a valid token, 401 otherwise. PEERS=… for a subset.
PEERS ?=

.PHONY: peers-check

peers-check:
	bench/peers/check $(PEERS)
