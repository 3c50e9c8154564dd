"""Building blocks shared by the access-review tests: a fixed clock and real grants."""

from datetime import UTC, datetime, timedelta

import time_machine

from approvals.services import submit_request
from governance.reviews import reminders
from governance.reviews import services as reviews
from tests import factories

# A Monday morning, far from any DST change (TIME_ZONE is UTC in tests anyway).
T0 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
# Thursday 13 March 2031, 17:00: a review due then is still "due today" at the morning's
# run and overdue (`review_overdue`) from 17:00, so the next morning's run escalates it.
DUE_DAY_10 = T0 + 10 * DAY + timedelta(hours=8)
LONG = 30 * 86400  # grants that outlive a whole review, so only decisions end them


def at(moment):
    """Freeze the clock at `moment` (a context manager)."""
    return time_machine.travel(moment, tick=False)


def long_policy(workflow, *, scope=None, access_level="read", approval_mode="default"):
    entitlement = factories.EntitlementFactory(
        scope=scope or f"github:repo-{workflow.slug}-{access_level}:{access_level}",
        access_level=access_level,
        max_lifetime_seconds=LONG,
    )
    return factories.PolicyFactory(
        workflow=workflow, entitlement=entitlement, approval_mode=approval_mode, max_ttl_seconds=LONG
    )


def workload_grant(policy, workload, person, *, task="run-1", seconds=20 * 86400):
    """An active grant for `workload` acting for `person`, through the real request service."""
    request = submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=seconds,
        workload=workload,
        on_behalf_of=person,
        task_ref=task,
        justification="review test",
    )
    assert request.state == "approved", request.decision_reasons
    return request.grant


def person_grant(policy, person, *, task="run-1", seconds=20 * 86400):
    request = submit_request(
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        duration_seconds=seconds,
        requested_by=person,
        task_ref=task,
        justification="review test",
    )
    assert request.state == "approved", request.decision_reasons
    return request.grant


def run_review_jobs(now):
    """What beat's three review jobs do, at `now`."""
    with at(now):
        reviews.open_due_campaigns()
        reviews.enforce_review_deadlines()
        return reminders.send_due_reminders()


def item_of(campaign, **subject):
    return campaign.items.get(**subject)
