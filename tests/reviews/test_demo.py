"""`load_demo` shows reviews in each state: completed, open and overdue."""

import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from governance.models import ReminderDigest, ReminderLog, ReviewCampaign

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_completed_an_open_and_an_overdue_review(settings):
    settings.DEMO_MODE = True
    call_command("load_demo", stdout=io.StringIO())
    now = timezone.now()
    campaigns = {c.workflow.slug: c for c in ReviewCampaign.objects.select_related("workflow")}
    completed = campaigns["pr-coding-agent"]
    # Everything in it is olivia's own (her agent, its grants, her assignment): bruno certified it.
    assert completed.status == "completed" and completed.closed_by.username == "bruno"
    assert not completed.items.filter(decided_by__username="olivia", outcome="certified").exists()
    open_one = campaigns["support-ticket-summarisation"]
    assert open_one.is_open and not open_one.is_overdue(now)
    assert 0 < open_one.progress()[0] < open_one.progress()[1]  # half done
    assert open_one.items.filter(kind="grant").exists()
    overdue = campaigns["finance-report-drafting"]
    assert overdue.is_overdue(now) and overdue.deadline_action == "revoke"
    # Today's reminders are waiting for the worker; loading the demo sends nothing itself.
    digests = set(ReminderDigest.objects.values_list("recipient_email", "status"))
    assert digests >= {("olivia@example.test", "pending"), ("bruno@example.test", "pending")}
    # What is left of the overdue review is fiona's own (her assignment, her agent): bruno
    # decides it, so the escalation chases him, never her.
    chased = set(
        ReminderLog.objects.filter(campaign=overdue, channel="email").values_list("recipient_email", flat=True)
    )
    assert "bruno@example.test" in chased and "fiona@example.test" not in chased
    assert mail.outbox == []
    call_command("load_demo", stdout=io.StringIO())
    assert ReviewCampaign.objects.count() == 3
