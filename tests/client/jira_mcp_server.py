"""A small real MCP server (official SDK) standing in for a Jira MCP server in the tests.

Run as `python jira_mcp_server.py [CALL_LOG]`: stdio transport; every call that reaches
it is appended to CALL_LOG (one JSON line), so tests see which calls got through.
`--http PORT` serves Streamable HTTP on 127.0.0.1 instead.
"""

import json
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("jira-test")
CALL_LOG = next((a for a in sys.argv[1:] if not a.startswith("--") and not a.isdigit()), None)


def logged(tool, **arguments):
    if CALL_LOG:
        with open(CALL_LOG, "a") as log:
            log.write(json.dumps({"tool": tool, "arguments": arguments}) + "\n")


@server.tool(name="jira.get_issue")
def get_issue(key: str) -> str:
    """Read one incident."""
    logged("jira.get_issue", key=key)
    return f"{key}: Checkout latency above 2 s since 09:00"


@server.tool(name="jira.search_issues")
def search_issues(query: str) -> str:
    """Search incidents."""
    logged("jira.search_issues", query=query)
    return "INC-4711"


@server.tool(name="jira.add_comment")
def add_comment(key: str, body: str) -> str:
    """Comment on an incident."""
    logged("jira.add_comment", key=key, body=body)
    return f"Comment added to {key}"


@server.tool(name="jira.delete_issue")
def delete_issue(key: str) -> str:
    """Delete an incident (no entitlement covers this)."""
    logged("jira.delete_issue", key=key)
    return f"{key} deleted"


@server.tool(name="shell.exec")
def shell_exec(command: str) -> str:
    """Run a command (no entitlement covers this)."""
    logged("shell.exec", command=command)
    return "not really"


if __name__ == "__main__":
    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        server.run("streamable-http", host="127.0.0.1", port=port)
    else:
        server.run()
