"""The examples of docs/agents.md run as written: the plain Python agent, and the MCP client
configuration (launched the way an MCP client launches it), against a live Mandate."""

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from approvals.models import Grant
from governance.models import EvidenceRecord
from tests.client.conftest import SERVER_SCRIPT
from tests.client.test_gateway import GATEWAY, text

pytest.importorskip("mcp")
from mcp import Client, StdioServerParameters  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "agents.md"


def block(language, section):
    part = DOC.read_text().split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"```{language}\n(.*?)```", part, flags=re.S).group(1)


def test_the_readme_links_the_guide():
    readme = (DOC.parents[1] / "README.md").read_text()
    assert "](docs/agents.md)" in readme


def test_the_plain_python_agent_runs(demo, tmp_path):
    code = block("python", "A plain Python agent")
    assert len([line for line in code.splitlines() if line.strip()]) <= 11
    expected = re.search(r"print\(.*\)  # (.*)", code).group(1)
    script = tmp_path / "agent.py"
    script.write_text(code)
    env = {**os.environ, "MANDATE_URL": demo.url, "MANDATE_KEY": demo.agent_key}
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == expected
    call = EvidenceRecord.objects.get(workflow__slug=demo.workflow, kind="tool_call", tool_name="read_incident")
    assert call.outcome == "success" and call.task_ref == "INC-4711" and call.grant_id
    # complete_task() ended the grant the guard obtained.
    assert Grant.objects.get(pk=call.grant_id).status == "revoked"


def test_the_mcp_client_configuration_runs(demo, tmp_path):
    config = json.loads(block("json", "An MCP client through the gateway"))
    server = config["mcpServers"]["jira"]
    assert server["command"] == "mandate-mcp-gateway"
    args = server["args"]
    # This repository's test server stands in for `python jira_mcp_server.py`.
    upstream = args.index("--") + 1
    assert args[upstream:] == ["python", "jira_mcp_server.py"]
    args = [*args[:upstream], sys.executable, str(SERVER_SCRIPT)]
    env = {**os.environ, **server["env"], "MANDATE_URL": demo.url, "MANDATE_KEY": demo.agent_key}

    async def session():
        async with Client(StdioServerParameters(command=GATEWAY, args=args, env=env), read_timeout_seconds=60) as c:
            assert "jira.add_comment" in {tool.name for tool in (await c.list_tools()).tools}
            read = await c.call_tool("jira.get_issue", {"key": "INC-4711"})
            assert not read.is_error, text(read)
            write = await c.call_tool("jira.add_comment", {"key": "INC-4711", "body": "Deploys since 09:00"})
            assert write.is_error and "bruno" in text(write)

    asyncio.run(session())
