"""The MCP gateway, end to end: the SDK's own client talks to `mandate-mcp-gateway` over
stdio, the gateway fronts a real MCP server (tests/client/jira_mcp_server.py) and asks a
live Mandate (gunicorn + PostgreSQL) before every call."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from governance.models import EvidenceRecord
from tests.client.conftest import SERVER_SCRIPT, free_port

pytest.importorskip("mcp")
from mcp import Client, StdioServerParameters  # noqa: E402

GATEWAY = shutil.which("mandate-mcp-gateway", path=str(Path(sys.executable).parent)) or "mandate-mcp-gateway"
READ_ONLY = {"jira.get_issue", "jira.search_issues"}


def gateway_params(demo, upstream, *, task_ref="", extra=()):
    env = {**os.environ, "MANDATE_URL": demo.url, "MANDATE_KEY": demo.agent_key}
    args = ["--workflow", demo.workflow, "--on-behalf-of", "rachel", *extra]
    if task_ref:
        args += ["--task-ref", task_ref]
    if isinstance(upstream, str):
        args += ["--upstream-url", upstream]
    else:
        args += ["--", *upstream]
    return StdioServerParameters(command=GATEWAY, args=args, env=env)


def text(result):
    return " ".join(block.text for block in result.content if getattr(block, "type", "") == "text")


def calls_that_reached(log):
    return [json.loads(line)["tool"] for line in log.read_text().splitlines()] if log.exists() else []


def test_an_agent_session_through_the_gateway(demo, tmp_path):
    log = tmp_path / "calls.jsonl"
    params = gateway_params(demo, [sys.executable, str(SERVER_SCRIPT), str(log)], task_ref="INC-4711")
    bruno, fiona = demo.as_person(demo.bruno), demo.as_person(demo.fiona)
    before = EvidenceRecord.objects.filter(workflow__slug=demo.workflow).count()

    async def session():
        async with Client(params, read_timeout_seconds=60) as client:
            # Only tools an entitlement of the workflow covers are shown.
            listed = {tool.name for tool in (await client.list_tools()).tools}
            assert listed == {"jira.get_issue", "jira.search_issues", "jira.add_comment"}

            # Allowed: reading is auto-approved for the task; the call reaches the server.
            read = await client.call_tool("jira.get_issue", {"key": "INC-4711"}, meta={"mandate/target": "INC-4711"})
            assert not read.is_error and "Checkout latency" in text(read)

            # Refused: no entitlement covers the tool; the server never sees the call.
            refused = await client.call_tool("shell.exec", {"command": "rm -rf /"})
            assert refused.is_error and "not covered by any entitlement" in text(refused)

            # Pending: writing needs an owner; the model is told what waits and who approves.
            pending = await client.call_tool("jira.add_comment", {"key": "INC-4711", "body": "Deploys since 09:00"})
            message = text(pending)
            assert pending.is_error and "pending approval" in message and "bruno" in message
            again = await client.call_tool("jira.add_comment", {"key": "INC-4711", "body": "Deploys since 09:00"})
            assert again.is_error and text(again) == message  # the same request, not a second one

            # Bruno approves in Mandate; the same call now passes.
            request_id = int(message.split("request #", 1)[1].split(",", 1)[0])
            approved = bruno.post(f"/api/v1/access-requests/{request_id}/approve/", json={"comment": "Fine."})
            assert approved.status_code == 200 and approved.json()["state"] == "active"
            done = await client.call_tool("jira.add_comment", {"key": "INC-4711", "body": "Deploys since 09:00"})
            assert not done.is_error and text(done) == "Comment added to INC-4711"

            # A task reference in the call's _meta wins over the session's.
            other_task = await client.call_tool(
                "jira.search_issues", {"query": "latency"}, meta={"mandate/task_ref": "INC-4712"}
            )
            assert not other_task.is_error

            # The kill switch: the next call is refused.
            suspended = fiona.post(f"/api/v1/workload-identities/{demo.agent}/suspend/", json={"reason": "Looping."})
            assert suspended.status_code == 200, suspended.text
            after = await client.call_tool("jira.get_issue", {"key": "INC-4711"})
            assert after.is_error and "suspended" in text(after)

    asyncio.run(session())

    assert calls_that_reached(log) == ["jira.get_issue", "jira.add_comment", "jira.search_issues"]
    from approvals.models import AccessRequest

    requests = AccessRequest.objects.filter(workload__slug=demo.agent, task_ref="INC-4711")
    assert sorted(requests.values_list("entitlement__scope", flat=True)) == [
        "jira:incident:read",
        "jira:incident:write",
    ]

    calls = EvidenceRecord.objects.filter(workflow__slug=demo.workflow, kind="tool_call", sequence__gt=before).order_by(
        "sequence"
    )
    seen = [(r.tool_name, r.outcome, r.task_ref) for r in calls]
    assert seen == [
        ("jira.get_issue", "success", "INC-4711"),
        ("shell.exec", "blocked", "INC-4711"),
        ("jira.add_comment", "blocked", "INC-4711"),
        ("jira.add_comment", "blocked", "INC-4711"),
        ("jira.add_comment", "success", "INC-4711"),
        ("jira.search_issues", "success", "INC-4712"),
    ], seen
    first = calls.first()
    assert first.target_resource == "INC-4711" and first.grant_id and len(first.payload_sha256) == 64
    assert "Deploys since" not in " ".join(r.summary for r in calls)  # hashes only, never the arguments

    # The evidence chain verifies after all of it.
    call_command("verify_evidence", workflow=demo.workflow)


@pytest.fixture
def http_upstream(tmp_path):
    port = free_port()
    log = tmp_path / "http-calls.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), str(log), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "upstream.log", "w"),  # noqa: SIM115
    )
    url = f"http://127.0.0.1:{port}/mcp"
    for _ in range(100):
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "upstream.log").read_text()) from None
            asyncio.run(asyncio.sleep(0.1))
    yield url, log
    process.terminate()
    process.wait(timeout=10)


def test_a_streamable_http_server_behind_the_gateway(demo, http_upstream):
    url, log = http_upstream
    params = gateway_params(demo, url, task_ref="INC-9")

    async def session():
        async with Client(params, read_timeout_seconds=60) as client:
            listed = {tool.name for tool in (await client.list_tools()).tools}
            assert "jira.delete_issue" not in listed and listed >= READ_ONLY
            result = await client.call_tool("jira.search_issues", {"query": "latency"})
            assert not result.is_error and text(result) == "INC-4711"
            refused = await client.call_tool("jira.delete_issue", {"key": "INC-9"})
            assert refused.is_error

    asyncio.run(session())
    assert calls_that_reached(log) == ["jira.search_issues"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_the_connected_person_is_asked_before_a_request_is_filed(demo, tmp_path, mode):
    from mcp_types import ElicitResult

    from approvals.models import AccessRequest

    asked = []

    async def person(context, params):
        asked.append(params.message)
        if "INC-31" in params.message:
            return ElicitResult(action="decline")
        return ElicitResult(action="accept", content={"justification": "Rachel asked for the summary."})

    log = tmp_path / "calls.jsonl"
    params = gateway_params(demo, [sys.executable, str(SERVER_SCRIPT), str(log)], task_ref="INC-30")

    async def session():
        async with Client(params, read_timeout_seconds=60, elicitation_callback=person, mode=mode) as client:
            pending = await client.call_tool("jira.add_comment", {"key": "INC-30", "body": "Summary"})
            assert pending.is_error and "pending approval" in text(pending)
            declined = await client.call_tool(
                "jira.add_comment", {"key": "INC-31", "body": "Summary"}, meta={"mandate/task_ref": "INC-31"}
            )
            assert declined.is_error and "declined" in text(declined)

    asyncio.run(session())
    assert len(asked) == 2 and "jira.add_comment" in asked[0] and "jira:incident:write" in asked[0]
    filed = AccessRequest.objects.get(task_ref="INC-30")
    assert filed.justification == "Rachel asked for the summary."
    assert not AccessRequest.objects.filter(task_ref="INC-31").exists()
    assert calls_that_reached(log) == []
