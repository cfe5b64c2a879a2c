"""FastMCP peer: `echo` behind RS256 bearer-token verification (FastMCP's JWTVerifier
against a JWKS), MCP Streamable HTTP, stateless, JSON responses.

Env: JWKS_URI, ISSUER, AUDIENCE. Served by uvicorn (see ./run): `uvicorn server:app`.
"""

import os

from fastmcp import FastMCP
from fastmcp.server.auth.providers.jwt import JWTVerifier

verifier = JWTVerifier(
    jwks_uri=os.environ["JWKS_URI"],
    issuer=os.environ["ISSUER"],
    audience=os.environ["AUDIENCE"],
    algorithm="RS256",
)

mcp = FastMCP("echo", auth=verifier)


@mcp.tool
def echo(message: str) -> str:
    """Return the message unchanged."""
    return message


app = mcp.http_app(path="/mcp", stateless_http=True, json_response=True)
