"""Runtime policy: every default rule and its reason, as a table.

`evaluate` is pure, so these cases build a context by hand and need no database.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from approvals.policy import Person, RequestContext, evaluate, human_duration

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OWNER = Person(1, "Olivia")
BACKUP = Person(2, "Bruno")
REQUESTER = Person(3, "Rachel")

BASE = RequestContext(
    now=NOW,
    workflow_name="Support",
    workflow_status="active",
    risk_tier="low",
    control_owner=OWNER,
    backup_owner=BACKUP,
    review_due=NOW + timedelta(days=30),
    review_grace_days=7,
    scope="zendesk:tickets:read",
    access_level="read",
    entitlement_max_seconds=8 * 3600,
    approval_mode="default",
    policy_max_seconds=4 * 3600,
    task_ref_required=True,
    justification_required=True,
    duration_seconds=3600,
    task_ref="run-42",
    justification="Summarise ticket queue",
    requester=REQUESTER,
)


def ctx(**changes):
    return replace(BASE, **changes)


@pytest.mark.parametrize(
    ("case", "context", "effect", "mode", "required", "reason"),
    [
        (
            "read, low risk",
            ctx(),
            "auto_approve",
            "auto",
            0,
            "Read access in a low-risk workflow is approved automatically.",
        ),
        (
            "read, medium risk",
            ctx(risk_tier="medium"),
            "auto_approve",
            "auto",
            0,
            "Read access in a medium-risk workflow",
        ),
        ("read, high risk", ctx(risk_tier="high"), "needs_approval", "owner", 1, "needs the control owner's approval"),
        (
            "write, low risk",
            ctx(access_level="write"),
            "needs_approval",
            "owner",
            1,
            "Write access needs the control owner",
        ),
        ("admin, medium", ctx(access_level="admin", risk_tier="medium"), "needs_approval", "owner", 1, "Admin access"),
        ("read, critical", ctx(risk_tier="critical"), "needs_approval", "two_person", 2, "two distinct approvers"),
        ("write, critical", ctx(risk_tier="critical", access_level="write"), "needs_approval", "two_person", 2, "two"),
        (
            "policy auto",
            ctx(access_level="write", approval_mode="auto"),
            "auto_approve",
            "auto",
            0,
            "requires auto-approve",
        ),
        ("policy owner", ctx(approval_mode="owner"), "needs_approval", "owner", 1, "control owner approval"),
        ("policy two", ctx(approval_mode="two_person"), "needs_approval", "two_person", 2, "two-person approval"),
    ],
)
def test_approval_rules(case, context, effect, mode, required, reason):
    result = evaluate(context)
    assert result.effect == effect, result.reasons
    assert result.approval_mode == mode
    assert result.required_approvals == required
    assert any(reason in r for r in result.reasons), result.reasons


@pytest.mark.parametrize(
    ("case", "context", "reason"),
    [
        ("workflow suspended", ctx(workflow_status="suspended"), "Workflow “Support” is suspended, not active."),
        ("workflow draft", ctx(workflow_status="draft"), "is draft, not active"),
        ("no owner", ctx(control_owner=None), "Workflow “Support” has no active control owner."),
        ("owner left", ctx(control_owner=Person(1, "Olivia", is_active=False)), "has no active control owner"),
        (
            "review overdue past grace",
            ctx(review_due=NOW - timedelta(days=8)),
            "was due on 2026-11-20 and is overdue past its 7-day grace period",
        ),
        ("not part of workflow", ctx(approval_mode=None, policy_max_seconds=None), "is not part of workflow"),
        ("policy denies", ctx(approval_mode="deny"), "denies every request"),
        ("too long for policy", ctx(duration_seconds=5 * 3600), "exceeds the maximum of 4 h"),
        (
            "too long for entitlement",
            ctx(duration_seconds=3 * 3600, entitlement_max_seconds=2 * 3600),
            "3 h exceeds the maximum of 2 h",
        ),
        ("no task", ctx(task_ref=" "), "A task reference (run, ticket or job id) is required."),
        ("no justification", ctx(justification=""), "A justification is required."),
        ("inactive requester", ctx(requester=Person(3, "Rachel", is_active=False)), "Rachel is not active."),
        (
            "suspended workload",
            ctx(
                requester=None,
                workload_label="bot",
                workload_status="suspended",
                on_behalf_of=REQUESTER,
                workload_owner=OWNER,
            ),
            "Workload “bot” is suspended.",
        ),
        (
            "workload of another workflow",
            ctx(
                requester=None,
                workload_label="bot",
                workload_status="active",
                workload_in_workflow=False,
                on_behalf_of=REQUESTER,
                workload_owner=OWNER,
            ),
            "is not bound to workflow “Support”",
        ),
        (
            "two-person with one eligible",
            ctx(risk_tier="critical", backup_owner=None),
            "needs 2 distinct approvers but only 1 eligible owner is available",
        ),
        (
            "requester is the only owner",
            ctx(access_level="write", backup_owner=None, requester=OWNER),
            "only 0 eligible owners are available (the requester and the workload's owner may not approve)",
        ),
    ],
)
def test_deny_rules_say_why(case, context, reason):
    result = evaluate(context)
    assert result.effect == "deny"
    assert any(reason in r for r in result.reasons), result.reasons


def test_review_overdue_within_grace_still_allows():
    assert evaluate(ctx(review_due=NOW - timedelta(days=6))).effect == "auto_approve"


def test_the_duration_is_refused_not_clamped():
    result = evaluate(ctx(duration_seconds=4 * 3600 + 1))
    assert result.effect == "deny" and result.max_seconds is None


def test_every_deny_reason_is_reported_together():
    result = evaluate(ctx(workflow_status="suspended", task_ref="", justification=""))
    assert len(result.reasons) == 3


def test_eligible_approvers_exclude_everyone_with_a_stake():
    workload_ctx = ctx(
        access_level="write",
        requester=None,
        workload_label="bot",
        workload_status="active",
        on_behalf_of=BACKUP,
        workload_owner=OWNER,
    )
    assert evaluate(workload_ctx).effect == "deny"  # both owners conflicted
    third = Person(9, "Third")
    assert evaluate(replace(workload_ctx, backup_owner=third)).eligible_approver_ids == [9]


@pytest.mark.parametrize(("seconds", "text"), [(3600, "1 h"), (5400, "1 h 30 min"), (90, "1 min 30 s"), (86400, "1 d")])
def test_durations_read_like_people_write_them(seconds, text):
    assert human_duration(seconds) == text
