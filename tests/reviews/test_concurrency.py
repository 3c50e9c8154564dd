"""Races in reviews are settled by the database: one decision per item, one campaign per
cycle, one reminder e-mail per person per day."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from governance.exceptions import IllegalTransition
from governance.models import ReminderDigest, ReviewCampaign
from governance.reviews.reminders import send_due_reminders
from governance.reviews.services import apply_missed_deadline, decide_item, open_campaign, open_due_campaigns
from tests.conftest import require_service
from tests.reviews.helpers import long_policy, workload_grant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*calls):
    """Run the calls at the same moment in threads; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture(autouse=True)
def _postgres():
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")


def test_two_owners_deciding_one_item_at_once_make_one_decision(workflow, agent, owner, backup_owner):
    workflow.next_review_due = timezone.now() + timedelta(days=5)
    workflow.save()
    item = open_campaign(workflow).items.get(kind="workload")
    results = race(
        lambda: decide_item(item, by=owner, decision="certify"),
        lambda: decide_item(item, by=backup_owner, decision="suspend", comment="compromised"),
    )
    refused = [r for r in results if isinstance(r, IllegalTransition)]
    assert len(refused) == 1 and "already decided" in refused[0].message
    item.refresh_from_db()
    agent.refresh_from_db()
    assert (item.outcome == "certified") == (agent.status == "active")


def test_a_decision_racing_the_deadline_sweep_is_never_overwritten(workflow, agent, owner, requester):
    workflow.next_review_due = timezone.now() + timedelta(days=5)
    workflow.save()
    grant = workload_grant(long_policy(workflow), agent, requester)
    campaign = open_campaign(workflow)
    item = campaign.items.get(grant=grant)
    after_deadline = campaign.due_at + timedelta(minutes=1)
    results = race(
        lambda: decide_item(item, by=owner, decision="certify", comment="keep"),
        lambda: apply_missed_deadline(campaign, now=after_deadline),
    )
    item.refresh_from_db()
    grant.refresh_from_db()
    if isinstance(results[0], IllegalTransition):  # the sweep won: the grant was revoked first
        assert item.outcome == "revoked" and grant.status == "revoked"
    else:  # the owner won: the sweep found the item certified and left the grant alone
        assert item.outcome == "certified" and grant.status == "active" and results[1] is True


def test_two_beats_opening_reviews_at_once_open_one_campaign(workflow, agent):
    workflow.next_review_due = timezone.now() + timedelta(days=3)
    workflow.save()
    race(open_due_campaigns, open_due_campaigns)
    assert ReviewCampaign.objects.filter(workflow=workflow).count() == 1


def test_two_reminder_runs_at_once_send_one_message(workflow, agent):
    workflow.next_review_due = timezone.now() + timedelta(days=10)
    workflow.save()
    open_due_campaigns()
    race(send_due_reminders, send_due_reminders)
    # One message each to the owner (the agent) and the backup owner (the owner's assignment).
    assert ReminderDigest.objects.count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        ReminderDigest.objects.values_list("recipient_email", flat=True)
    )
