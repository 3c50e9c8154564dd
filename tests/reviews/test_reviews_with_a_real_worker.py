"""Access reviews end to end: beat reads the database schedule, a real worker opens the
review, e-mails the owner and applies a missed deadline, all through Redis and PostgreSQL."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from approvals.models import Grant
from governance.models import ReminderDigest, ReviewCampaign
from governance.reviews.services import open_campaign
from tests import factories
from tests.reviews.helpers import long_policy, workload_grant
from tests.workers import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker]

REVIEW_JOBS = ("governance.open_due_reviews", "governance.enforce_review_deadlines", "governance.send_reminders")


@pytest.fixture
def mailbox(tmp_path, monkeypatch):
    """The worker writes e-mail to files here (the worker is another process: no locmem)."""
    folder = tmp_path / "mail"
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    monkeypatch.setenv("EMAIL_FILE_PATH", str(folder))
    monkeypatch.setenv("SITE_URL", "https://mandate.example.test")
    return folder


def every_second(tasks):
    """What an operator would do in the admin: run these jobs every second."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    assert PeriodicTask.objects.filter(task__in=tasks).update(interval=interval) == len(tasks)


def test_beat_and_a_worker_open_remind_and_enforce_reviews(start_worker, start_beat, mailbox):
    now = timezone.now()
    # A workflow whose review comes due in ten days: beat should open it and tell the owner.
    coming = factories.WorkflowFactory(next_review_due=now + timedelta(days=10))
    # Run by an engineer, so the control owner decides it (an agent of her own goes to the backup owner).
    factories.WorkloadIdentityFactory(workflow=coming, owner=factories.UserFactory())
    # A workflow whose open review passed its deadline an hour ago: its forgotten grant must go.
    late = factories.WorkflowFactory(next_review_due=now - timedelta(hours=1))
    agent = factories.WorkloadIdentityFactory(workflow=late, owner=late.control_owner)
    requester = factories.UserFactory()
    grant = workload_grant(long_policy(late), agent, requester)
    overdue = open_campaign(late, now=now - timedelta(days=3))
    assert overdue.due_at == now - timedelta(hours=1)

    every_second(REVIEW_JOBS)
    start_worker()
    start_beat()

    assert wait_for(lambda: ReviewCampaign.objects.filter(workflow=coming).exists(), timeout=30)
    assert wait_for(lambda: Grant.objects.get(pk=grant.pk).status == "revoked", timeout=30)
    assert wait_for(
        lambda: ReminderDigest.objects.filter(recipient_email=coming.control_owner.email, status="sent").exists(),
        timeout=30,
    )
    campaign = ReviewCampaign.objects.get(workflow=coming)
    assert campaign.items.count() == 2  # the workload and the owner assignment
    overdue.refresh_from_db()
    assert overdue.deadline_action == "revoke" and overdue.deadline_missed_at is not None
    assert "was not finished by" in Grant.objects.get(pk=grant.pk).end_reason
    messages = "\n".join(path.read_text() for path in mailbox.glob("*.log"))
    assert f"Subject: Access review of {coming}: due in 10 days" in messages
    assert f"https://mandate.example.test/reviews/{campaign.pk}/" in messages
