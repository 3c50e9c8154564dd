"""`mandate-mcp-gateway`: run an MCP server behind Mandate, for one workload.

    mandate-mcp-gateway --workflow incident-enrichment --on-behalf-of rachel \\
        --task-ref INC-4711 -- python jira_mcp_server.py
    mandate-mcp-gateway --workflow incident-enrichment --upstream-url http://127.0.0.1:9000/mcp

The MCP client starts it as a stdio server. Mandate's URL and the workload's API key come
from MANDATE_URL and MANDATE_KEY (never from the command line, where `ps` shows them);
the upstream server gets the gateway's environment without the MANDATE_* variables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from typing import Any

from .._version import __version__


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mandate-mcp-gateway",
        description="Front an MCP server (stdio command after --, or --upstream-url) with Mandate's "
        "access checks, approvals and evidence, for one workload.",
    )
    parser.add_argument("--workflow", default=os.environ.get("MANDATE_WORKFLOW"), help="Workflow slug.")
    parser.add_argument("--url", default=os.environ.get("MANDATE_URL"), help="Mandate's URL (MANDATE_URL).")
    parser.add_argument(
        "--task-ref", default=os.environ.get("MANDATE_TASK_REF", ""), help="The session's task reference."
    )
    parser.add_argument("--on-behalf-of", default=os.environ.get("MANDATE_ON_BEHALF_OF"), help="The person served.")
    parser.add_argument("--duration", type=int, default=900, help="Seconds of access to ask for (default 900).")
    parser.add_argument("--justification", default="", help="Justification sent with access requests.")
    parser.add_argument(
        "--wait", type=float, default=None, help="Seconds to wait for an approval before answering (default: none)."
    )
    parser.add_argument(
        "--evidence-budget",
        type=float,
        default=0.5,
        help="Seconds a call's answer may wait for its evidence to reach Mandate (default 0.5).",
    )
    parser.add_argument("--upstream-url", help="Streamable HTTP URL of the MCP server to front.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command and arguments of a stdio MCP server")
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.workflow:
        parser.error("--workflow (or MANDATE_WORKFLOW) is required")
    if not args.url:
        parser.error("--url (or MANDATE_URL) is required")
    if not os.environ.get("MANDATE_KEY"):
        parser.error("MANDATE_KEY must hold the workload's API key")
    if bool(args.command) == bool(args.upstream_url):
        parser.error("give either a stdio server command after -- or --upstream-url, not both")
    return args


async def serve(args: argparse.Namespace) -> None:
    from mcp import Client, StdioServerParameters
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    from ..client import Mandate
    from .proxy import Gateway, GatewaySettings

    target: Any
    if args.upstream_url:
        target = args.upstream_url
    else:
        env = {key: value for key, value in os.environ.items() if not key.startswith("MANDATE_")}
        target = StdioServerParameters(command=args.command[0], args=args.command[1:], env=env)
    settings = GatewaySettings(
        workflow=args.workflow,
        task_ref=args.task_ref,
        on_behalf_of=args.on_behalf_of,
        duration_seconds=args.duration,
        justification=args.justification,
        wait=args.wait,
        evidence_budget=args.evidence_budget,
    )
    mandate = Mandate(args.url, os.environ["MANDATE_KEY"], workflow=args.workflow, on_behalf_of=args.on_behalf_of)
    try:
        async with Client(target) as upstream:
            gateway = Gateway(mandate, upstream, settings)
            server: Server[Any] = Server(
                "mandate-mcp-gateway",
                version=__version__,
                instructions=f"Tools governed by Mandate for workflow “{args.workflow}”: a call may need "
                "a person's approval first; the tool error then says who approves.",
                on_list_tools=gateway.list_tools,
                on_call_tool=gateway.call_tool,
            )
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        mandate.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=os.environ.get("MANDATE_LOG_LEVEL", "WARNING"), stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
