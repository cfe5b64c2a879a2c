#!/usr/bin/env bash
# `make up`'s serving half: the composed $SERVER at http://$LISTEN/mcp, with
# `spin up` when $SPIN is set (spin.toml; spin.dev.toml next to the development
# issuer), else with the local wasmtime host $HOST. Without AUTHKIT_ISSUER the
# DEVELOPMENT-ONLY issuer runs on $DEV_ISSUER and prints a bearer token.
# The variables come from the environment (AUTHKIT_ISSUER, AUTHKIT_JWKS_URI,
# AUTHKIT_AUDIENCE, AUTHKIT_RESOURCE, AUTHKIT_ALLOWED_ORIGINS, SPIN_MANIFEST).
set -euo pipefail
: "${SERVER:?}" "${LISTEN:?}" "${DEV_ISSUER:?}"

if [ -z "${SPIN:-}" ]; then
    echo "spin is not installed: serving with the local wasmtime host ($HOST)"
    echo "Protected MCP endpoint: http://$LISTEN/mcp"
    dev=()
    [ -n "${AUTHKIT_ISSUER:-}" ] || dev=(--dev-issuer="$DEV_ISSUER")
    exec "$HOST" serve "$SERVER" --listen "$LISTEN" "${dev[@]}" \
        --var authkit_issuer="${AUTHKIT_ISSUER:-}" \
        --var authkit_jwks_uri="${AUTHKIT_JWKS_URI:-}" \
        --var authkit_audience="${AUTHKIT_AUDIENCE:-}" \
        --var authkit_resource="${AUTHKIT_RESOURCE:-}" \
        --var authkit_allowed_origins="${AUTHKIT_ALLOWED_ORIGINS:-}"
fi

manifest=${SPIN_MANIFEST:-spin.toml}
if [ -z "${AUTHKIT_ISSUER:-}" ]; then
    manifest=${SPIN_MANIFEST:-spin.dev.toml}
    AUTHKIT_ISSUER=http://$DEV_ISSUER
    AUTHKIT_JWKS_URI=${AUTHKIT_JWKS_URI:-$AUTHKIT_ISSUER/jwks}
    AUTHKIT_AUDIENCE=${AUTHKIT_AUDIENCE:-http://$LISTEN/mcp}
    "$DEV_ISSUER_BIN" --listen "$DEV_ISSUER" --audience "$AUTHKIT_AUDIENCE" &
    dev_issuer=$!
    trap 'kill $dev_issuer 2>/dev/null' EXIT INT TERM
    # Its first line means it is listening (the token follows).
    until (exec 3<>"/dev/tcp/${DEV_ISSUER%:*}/${DEV_ISSUER##*:}") 2>/dev/null; do
        kill -0 $dev_issuer 2>/dev/null || exit 1
        sleep 0.1
    done
fi
echo "Serving http://$LISTEN/mcp with $SPIN up --from $manifest"
SPIN_VARIABLE_AUTHKIT_ISSUER="$AUTHKIT_ISSUER" \
SPIN_VARIABLE_AUTHKIT_JWKS_URI="${AUTHKIT_JWKS_URI:-}" \
SPIN_VARIABLE_AUTHKIT_AUDIENCE="${AUTHKIT_AUDIENCE:-}" \
SPIN_VARIABLE_AUTHKIT_RESOURCE="${AUTHKIT_RESOURCE:-}" \
SPIN_VARIABLE_AUTHKIT_ALLOWED_ORIGINS="${AUTHKIT_ALLOWED_ORIGINS:-}" \
"$SPIN" up --from "$manifest" --listen "$LISTEN"
