"""`mandate-mcp-gateway`: an MCP server that fronts another one for one workload.

Needs the `mcp` extra (`pip install "mandate-client[mcp]"`)."""

from .proxy import Gateway, GatewaySettings

__all__ = ["Gateway", "GatewaySettings"]
