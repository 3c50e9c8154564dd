"""Evidence batching and the tool guard against a live Mandate: recording never holds the
agent up, nothing recorded is lost on a clean exit, the guard asks once per task and
waits, records and refuses as it should, sync and async."""

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from mandate_client import AccessDenied, AccessPending, Mandate

from approvals.models import AccessRequest
from governance.models import EvidenceRecord
from tests.peers.faults import FaultProxy


def agent(demo, **options):
    return Mandate(demo.url, demo.agent_key, workflow=demo.workflow, on_behalf_of="rachel", **options)


def tool_calls(demo, **filters):
    return EvidenceRecord.objects.filter(workflow__slug=demo.workflow, kind="tool_call", **filters)


def test_recording_is_batched_never_blocks_and_loses_nothing_on_close(demo):
    mandate = agent(demo, evidence_max_batch=400)
    slowest = 0.0
    for index in range(1000):
        started = time.perf_counter()
        assert mandate.record(
            "tool_call", tool_name="bench.tool", task_ref="BATCH-1", outcome="success", payload={"n": index}
        )
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < mandate.evidence.budget + 0.05
    assert mandate.close(timeout=60)
    assert mandate.evidence.sent == 1000 and mandate.evidence.dropped == 0
    assert tool_calls(demo, tool_name="bench.tool").count() == 1000
    # Only hashes leave the process: the payload's SHA-256, never the payload.
    assert tool_calls(demo, tool_name="bench.tool").exclude(payload_sha256="").count() == 1000


def test_an_agent_that_exits_without_closing_still_delivers_its_evidence(demo, tmp_path):
    script = tmp_path / "agent.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            from mandate_client import Mandate

            mandate = Mandate(os.environ["MANDATE_URL"], os.environ["MANDATE_KEY"], evidence_interval=60)
            for n in range(25):
                mandate.record("action", summary=f"step {n}", task_ref="EXIT-1", outcome="success")
            # no close(), no flush(): the interpreter's exit sends them
            """
        )
    )
    env = {**os.environ, "MANDATE_URL": demo.url, "MANDATE_KEY": demo.agent_key}
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    records = EvidenceRecord.objects.filter(workflow__slug=demo.workflow, kind="action", task_ref="EXIT-1")
    assert records.count() == 25


def test_an_invalid_event_is_dropped_and_the_rest_of_its_batch_recorded(demo, caplog):
    with agent(demo) as mandate:
        mandate.record("tool_call", tool_name="ok.before", task_ref="BAD-1", outcome="success")
        mandate.record("tool_call", tool_name="bad", task_ref="BAD-1", outcome="success", data_classification="???")
        mandate.record("tool_call", tool_name="ok.after", task_ref="BAD-1", outcome="success")
        assert mandate.flush(timeout=30)
        assert mandate.evidence.dropped == 1
    assert sorted(tool_calls(demo, task_ref="BAD-1").values_list("tool_name", flat=True)) == ["ok.after", "ok.before"]
    assert "Mandate refused evidence event" in caplog.text


def test_the_guard_files_one_request_per_task_and_passes_once_approved(demo):
    with agent(demo) as mandate, Mandate(demo.url, demo.bruno) as bruno:
        calls = []

        @mandate.guard("jira:incident:write", task_ref=lambda key, body: key, justification="Post the summary.")
        def add_comment(key, body):
            calls.append((key, body))
            return "ok"

        with pytest.raises(AccessPending) as first:
            add_comment("INC-20", "secret-ish text")
        with pytest.raises(AccessPending) as second:
            add_comment("INC-20", "secret-ish text")
        assert first.value.request.id == second.value.request.id
        assert first.value.approvers == ["bruno"] and f"request #{first.value.request.id}" in str(first.value)
        assert AccessRequest.objects.filter(task_ref="INC-20").count() == 1
        assert calls == []

        bruno.approve(first.value.request, "Fine.")
        assert add_comment("INC-20", "secret-ish text") == "ok"
        assert calls == [("INC-20", "secret-ish text")]
        mandate.flush(timeout=30)

    outcomes = list(tool_calls(demo, task_ref="INC-20").order_by("sequence").values_list("outcome", "tool_name"))
    assert outcomes == [("blocked", "add_comment"), ("blocked", "add_comment"), ("success", "add_comment")], outcomes
    assert not tool_calls(demo, summary__contains="secret-ish").exists()


def test_an_async_guard_waits_for_the_decision_when_asked_to(demo):
    mandate = agent(demo)
    bruno = Mandate(demo.url, demo.bruno)

    @mandate.guard("jira:incident:write", task_ref="INC-21", justification="Post the summary.", wait=30)
    async def add_comment(body):
        await asyncio.sleep(0)
        return f"posted {body}"

    def approve_when_filed():
        for _ in range(100):
            filed = AccessRequest.objects.filter(task_ref="INC-21").first()
            if filed is not None:
                bruno.approve(filed.pk, "Fine.")
                return
            time.sleep(0.1)

    approver = threading.Thread(target=approve_when_filed)
    approver.start()
    started = time.monotonic()
    assert asyncio.run(add_comment("hello")) == "posted hello"
    approver.join()
    assert time.monotonic() - started < 30
    mandate.close()
    bruno.close()
    assert tool_calls(demo, task_ref="INC-21", outcome="success").count() == 1


def test_a_guarded_block_is_refused_once_the_workload_is_suspended(demo):
    with agent(demo) as mandate:
        read = mandate.guard("jira:incident:read", task_ref="INC-22", justification="Read it.")
        with read as decision:
            assert decision.allow
        fiona = demo.as_person(demo.fiona)
        assert fiona.post(f"/api/v1/workload-identities/{demo.agent}/suspend/", json={"reason": "Stop."}).is_success
        with pytest.raises(AccessDenied) as refused, read:
            pytest.fail("the block ran")
        assert "suspended" in str(refused.value)


def test_a_batch_whose_answer_was_lost_is_sent_again_and_recorded_once(demo):
    # The proxy passes the batch to Mandate, which records it, then cuts the connection
    # before the answer: the client must retry, and the retry must not record it twice.
    with FaultProxy(demo.url) as proxy:
        proxy.inject("lost", method="POST", path=r"^/api/v1/evidence/")
        mandate = Mandate(proxy.url, demo.agent_key, workflow=demo.workflow, on_behalf_of="rachel")
        for index in range(5):
            mandate.record("tool_call", tool_name="lost.answer", task_ref="RETRY-1", outcome="success", payload=index)
        assert mandate.close(timeout=60)
    assert [fault for _, path, fault in proxy.seen if path.startswith("/api/v1/evidence/")][:2] == ["lost", None]
    assert mandate.evidence.sent == 5 and mandate.evidence.dropped == 0
    assert tool_calls(demo, tool_name="lost.answer").count() == 5
