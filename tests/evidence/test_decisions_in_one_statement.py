"""A decision recorded by the check's own statement is the record Python would have written.

On PostgreSQL the authorization check words its answer and writes the decision's intake
row in the statement that decides it (`governance.evidence.decisions`). Each case below
checks the answer against the one the Python path (the embedded database's) gives for the
same state, and the record, byte for byte, against the one `record_decision` builds; where
SQL could not be faithful (a summary to redact, a reason to strip) the statement leaves
the record to Python, and it is still written exactly once.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from approvals import signals
from approvals.choices import GrantStatus
from approvals.models import Grant
from approvals.services import authorization, revoke_grant, suspend_workload
from governance.evidence.models import EvidenceIntake
from governance.evidence.receivers import on_authorization_checked
from governance.verify_export import canonical_json, sha256_hex
from identities.models import WorkloadIdentity
from tests import factories
from tests.access.test_grants import agent_grant
from tests.conftest import require_service

SCOPE = "github:repo:read"
COMPARED = (
    "workflow_id",
    "kind",
    "workload_id",
    "on_behalf_of_id",
    "actor_id",
    "access_request_id",
    "grant_id",
    "task_ref",
    "ticket_ref",
    "tool_name",
    "target_resource",
    "data_classification",
    "outcome",
    "summary",
    "payload_sha256",
    "raw_payload",
)


@pytest.fixture(autouse=True)
def _postgresql(db, settings):
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    settings.EVIDENCE_STORE_RAW_PAYLOADS = True


@pytest.fixture
def policy(workflow):
    entitlement = factories.EntitlementFactory(scope=SCOPE, access_level="read")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


@pytest.fixture
def statement_recorded():
    """Whether the last check's statement wrote its record itself (the signal's `recorded`)."""
    seen = []

    def listen(sender, recorded=False, **kwargs):
        seen.append(recorded)

    signals.authorization_checked.connect(listen, dispatch_uid="test.statement_recorded")
    yield seen
    signals.authorization_checked.disconnect(dispatch_uid="test.statement_recorded")


def intake_rows(after):
    return list(EvidenceIntake.objects.filter(id__gt=after).order_by("id").values(*COMPARED))


def decide_both_ways(seen, *, subject, **check):
    """The statement's answer and record against the Python path's; returns (result, recorded by SQL)."""
    last = EvidenceIntake.objects.order_by("-id").values_list("id", flat=True).first() or 0
    who = {"workload": subject} if isinstance(subject, WorkloadIdentity) else {"user": subject}
    result = authorization.authorize(**who, **check)
    [written] = intake_rows(last)  # exactly one record, whoever wrote it
    python = authorization._answer(
        check["workflow"],
        check["scope"],
        who.get("workload"),
        who.get("user"),
        check.get("task_ref"),
        check.get("token_claims"),
        timezone.now(),
    )
    assert python.as_dict() == result.as_dict()
    last = EvidenceIntake.objects.order_by("-id").values_list("id", flat=True).first()
    on_authorization_checked(
        sender=Grant,
        result=python,
        subject=subject,
        workflow=check["workflow"],
        scope=check["scope"],
        task_ref=check.get("task_ref") or "",
        resource=check.get("resource") or "",
        action=check.get("action") or "",
    )
    [expected] = intake_rows(last)
    assert written == expected
    assert written["payload_sha256"] == sha256_hex(written["raw_payload"].encode("utf-8"))
    return result, seen[-1]


def test_an_allow_is_recorded_by_its_statement_as_python_records_it(
    workflow, policy, agent, requester, statement_recorded
):
    grant = agent_grant(policy, agent, requester)
    for microseconds in (0, 123456):
        Grant.objects.filter(pk=grant.pk).update(
            expires_at=(timezone.now() + timedelta(minutes=5)).replace(microsecond=microseconds)
        )
        result, by_statement = decide_both_ways(
            statement_recorded, subject=agent, workflow=workflow.slug, scope=SCOPE, task_ref="run-1"
        )
        assert result.allow and by_statement


@pytest.mark.parametrize(
    "text",
    [
        'quotes " and \\ backslashes',
        "control \x01\x1f\t\n\r\x7f characters",
        "unicode “quotes” — ünïcødé 🚀 \u2028 line separator",
        "  spaces around  ",
    ],
)
def test_any_text_the_caller_sends_is_recorded_as_python_records_it(
    workflow, policy, agent, requester, statement_recorded, text
):
    agent_grant(policy, agent, requester)
    result, by_statement = decide_both_ways(
        statement_recorded,
        subject=agent,
        workflow=workflow.slug,
        scope=SCOPE,
        task_ref="run-1",
        resource=f"repo {text}",
        action=f"read {text}",
    )
    assert result.allow and by_statement


def _revoked(policy, agent, requester, reason):
    revoke_grant(agent_grant(policy, agent, requester), reason=reason)


def _expired_by_status(policy, agent, requester):
    grant = agent_grant(policy, agent, requester)
    Grant.objects.filter(pk=grant.pk).update(status=GrantStatus.EXPIRED, ended_at=timezone.now())


def _past_expiry(policy, agent, requester):
    grant = agent_grant(policy, agent, requester)
    now = timezone.now()
    Grant.objects.filter(pk=grant.pk).update(starts_at=now - timedelta(hours=1), expires_at=now - timedelta(seconds=1))


def _not_started(policy, agent, requester):
    grant = agent_grant(policy, agent, requester)
    now = timezone.now()
    Grant.objects.filter(pk=grant.pk).update(starts_at=now + timedelta(hours=1), expires_at=now + timedelta(hours=2))


def _workflow_suspended(policy, agent, requester):
    agent_grant(policy, agent, requester)
    type(policy.workflow).objects.filter(pk=policy.workflow.pk).update(status="suspended")


def _suspended(policy, agent, requester):
    agent_grant(policy, agent, requester)
    suspend_workload(agent, reason="prompt injection suspected")
    agent.refresh_from_db()


@pytest.mark.parametrize(
    ("arrange", "check", "reason", "by_statement"),
    [
        (None, {"scope": "x:none"}, "No grant of “x:none”", True),
        (None, {"task_ref": "run-9"}, "No grant of “github:repo:read”", True),
        (lambda *a: _revoked(*a, "incident 7"), {}, "was revoked: incident 7", True),
        (lambda *a: _revoked(*a, "Done!"), {}, "was revoked: Done!", True),
        # Endings Python might strip, and what it would redact: the statement leaves them to it.
        (lambda *a: _revoked(*a, "signed off ✓"), {}, "was revoked: signed off ✓", False),
        (lambda *a: _revoked(*a, "mail sec@example.com"), {}, "was revoked: mail sec@example.com", False),
        (lambda *a: _revoked(*a, "ſecret: hunter2"), {}, "was revoked: ſecret: hunter2", False),
        (_expired_by_status, {}, "expired at", True),
        (_past_expiry, {}, "expired at", True),
        (_not_started, {}, "starts at", True),
        (_workflow_suspended, {}, "is suspended", True),
        (_suspended, {}, "is suspended", True),
        (None, {"token_claims": {"grant": 0, "jti": "stale"}}, "The token is not the current token", True),
    ],
)
def test_every_deny_is_worded_and_recorded_as_python_does_it(
    workflow, policy, agent, requester, statement_recorded, arrange, check, reason, by_statement
):
    if arrange is None:
        agent_grant(policy, agent, requester)
    else:
        arrange(policy, agent, requester)
    body = {"workflow": workflow.slug, "scope": SCOPE, "task_ref": "run-1", **check}
    result, recorded = decide_both_ways(statement_recorded, subject=agent, **body)
    assert not result.allow and reason in result.reasons[0]
    assert recorded is by_statement


def test_a_person_and_a_workload_of_another_workflow_are_recorded_as_python_records_them(
    workflow, policy, agent, requester, owner, statement_recorded
):
    agent_grant(policy, agent, requester)
    stranger = factories.WorkloadIdentityFactory(workflow=factories.WorkflowFactory(), owner=owner)
    result, by_statement = decide_both_ways(statement_recorded, subject=stranger, workflow=workflow.slug, scope=SCOPE)
    assert result.reasons == [f"Unknown workflow “{workflow.slug}”."] and by_statement
    result, by_statement = decide_both_ways(statement_recorded, subject=requester, workflow=workflow.slug, scope=SCOPE)
    assert result.reasons[0].startswith("No grant of") and by_statement
    type(workflow).objects.filter(pk=workflow.pk).update(status="suspended")
    outsider = factories.UserFactory(username="outsider")
    result, by_statement = decide_both_ways(statement_recorded, subject=outsider, workflow=workflow.slug, scope=SCOPE)
    assert result.reasons == [f"Unknown workflow “{workflow.slug}”."] and by_statement
    result, by_statement = decide_both_ways(statement_recorded, subject=owner, workflow=workflow.slug, scope=SCOPE)
    assert result.reasons[0].startswith(f"Workflow “{workflow.name}” is suspended") and by_statement


def test_json_strings_are_escaped_by_the_database_as_python_escapes_them():
    text = "".join(chr(code) for code in [*range(0, 0x80), 0xA0, 0x2028, 0x2029, 0xFEFF, 0x1F680] if code)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_json(%s::text)::text", [text])
        assert cursor.fetchone()[0].encode("utf-8") == canonical_json(text)
