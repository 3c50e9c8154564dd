"""Reminders follow the review's schedule, escalate after it, and bundle into at most one
e-mail per person per day — pending-request reminders included.

Every review holds the control owner's own assignment, which only the backup owner may
certify: so the backup owner hears about each review from its opening, for that item
(who hears about what is `test_reminders_reach_who_decides.py`)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from approvals.services import decide, submit_request
from governance.models import ReminderDigest, ReviewCampaign
from governance.reviews import reminders
from governance.reviews.reminders import deliver_digest, send_due_reminders
from governance.reviews.services import decide_items, open_due_campaigns
from tests import factories
from tests.reviews.helpers import DAY, DUE_DAY_10, T0, at, long_policy, run_review_jobs

pytestmark = pytest.mark.django_db

OWNER, BACKUP, SECURITY = "owner@example.test", "backup@example.test", "security@example.test"


@pytest.fixture(autouse=True)
def _review_settings(settings, workflow):
    settings.SECURITY_CONTACT_EMAIL = SECURITY
    settings.SITE_URL = "https://mandate.example.test"
    settings.REVIEW_NOTICE_DAYS = 14
    workflow.next_review_due = DUE_DAY_10
    workflow.save()


def mails_by_day(days):
    """Run the review jobs each morning for `days` days; {day: sorted recipients}."""
    sent = {}
    for day in range(days):
        before = len(mail.outbox)
        run_review_jobs(T0 + day * DAY)
        recipients = sorted(r for m in mail.outbox[before:] for r in m.to)
        if recipients:
            sent[day] = recipients
    return sent


def pending_request(workflow, requester, *, mode="owner"):
    with at(T0):
        policy = long_policy(workflow, access_level="write", approval_mode=mode)
        request = submit_request(
            workflow=workflow,
            entitlement=policy.entitlement,
            duration_seconds=600,
            requested_by=requester,
            task_ref="CHG-1",
            justification="hotfix",
        )
    assert request.state == "pending"
    return request


def test_the_owners_hear_at_opening_three_days_one_day_and_on_the_due_date_then_everyone_is_escalated(agent):
    assert mails_by_day(20) == {
        0: [BACKUP, OWNER],  # opened (the backup for the owner's own assignment)
        7: [BACKUP, OWNER],  # due in 3 days
        9: [BACKUP, OWNER],  # due tomorrow
        10: [BACKUP, OWNER],  # due today
        11: [BACKUP, OWNER, SECURITY],  # overdue: escalated
        18: [BACKUP, OWNER, SECURITY],  # still overdue a week later
    }


def test_what_each_reminder_says(agent, workflow):
    run_review_jobs(T0)
    backups, opened = mail.outbox  # one digest per address, in address order
    campaign = ReviewCampaign.objects.get()
    assert opened.subject == f"Access review of {workflow}: due in 10 days (13 Mar 2031)"
    assert "A new access review is open. 2 of 2 items still to decide." in opened.body
    assert "If it is not finished by the due date: Revoke every grant not certified." in opened.body
    link = f"https://mandate.example.test/reviews/{campaign.pk}/"
    assert link in opened.body
    html, mimetype = opened.alternatives[0]
    assert mimetype == "text/html" and f'href="{link}"' in html
    # The owner decides the agent but not her own assignment; the backup owner may decide both.
    assert "You decide 1 of them; someone else decides the rest" in opened.body
    assert backups.to == [BACKUP] and "2 of 2 items still to decide." in backups.body
    assert "You decide" not in backups.body
    for day in range(1, 12):
        run_review_jobs(T0 + day * DAY)
    escalation = [m for m in mail.outbox if m.to == [BACKUP]][-1]
    assert escalation.subject == f"Access review of {workflow}: overdue since 13 Mar 2031"
    assert "the control owner (Owner <owner@example.test>) has not finished it" in escalation.body


def test_reminders_stop_when_the_review_is_done(agent, backup_owner):
    run_review_jobs(T0)
    campaign = ReviewCampaign.objects.get()
    with at(T0 + DAY):
        decide_items(campaign, campaign.items.values_list("pk", flat=True), by=backup_owner, decision="certify")
    assert mails_by_day(20) == {}


def test_one_message_a_day_bundles_every_review_and_waiting_request(
    workflow, agent, owner, backup_owner, requester, identity_source
):
    second = factories.WorkflowFactory(
        name="Invoice matching", control_owner=owner, identity_source=identity_source, next_review_due=T0 + 5 * DAY
    )
    factories.WorkloadIdentityFactory(workflow=second, owner=owner)
    request = pending_request(workflow, requester)
    run_review_jobs(T0 + timedelta(hours=5))  # past the 4-hour reminder interval
    by_recipient = {m.to[0]: m for m in mail.outbox}
    # The second workflow has no backup owner: its owner's own assignment goes to security.
    assert sorted(by_recipient) == [BACKUP, OWNER, SECURITY]
    owners = by_recipient[OWNER]
    # Everything in "Invoice matching" is the owner's own (her assignment, her agent): not hers to decide.
    assert owners.subject == "1 access review and 1 request need your attention"
    assert str(workflow) in owners.body and "Invoice matching" not in owners.body
    assert f"{request.entitlement.scope} for Requester" in owners.body and "task CHG-1" in owners.body
    backups = by_recipient[BACKUP]
    assert backups.subject == "1 access review and 1 request need your attention"
    assert "Invoice matching" not in backups.body
    assert "Invoice matching" in by_recipient[SECURITY].body


def test_a_reminder_that_finds_todays_message_sent_waits_for_tomorrow(workflow, agent, owner, identity_source):
    run_review_jobs(T0)
    assert [m.to for m in mail.outbox] == [[BACKUP], [OWNER]]
    later = factories.WorkflowFactory(
        name="Late starter",
        control_owner=owner,
        backup_owner=workflow.backup_owner,
        identity_source=identity_source,
        next_review_due=T0 + 12 * DAY,
    )
    factories.WorkloadIdentityFactory(workflow=later, owner=owner)
    run_review_jobs(T0 + timedelta(hours=3))  # opens the second review the same day
    run_review_jobs(T0 + timedelta(hours=9))
    assert len(mail.outbox) == 2
    run_review_jobs(T0 + DAY)
    # Everything in it is the owner's own: the backup owner hears, the day after.
    assert len(mail.outbox) == 3
    assert mail.outbox[2].to == [BACKUP] and "Late starter" in mail.outbox[2].subject


def test_running_the_job_twice_sends_once(agent):
    with at(T0):
        open_due_campaigns()
        first = send_due_reminders()
        second = send_due_reminders()
    assert first["claimed"] == 2 and second["claimed"] == 0
    assert len(mail.outbox) == 2
    assert set(ReminderDigest.objects.values_list("status", flat=True)) == {"sent"}


class FailsOnceBackend(EmailBackend):
    failures = 1

    def send_messages(self, messages):
        if FailsOnceBackend.failures:
            FailsOnceBackend.failures -= 1
            raise ConnectionRefusedError("SMTP server unreachable")
        return super().send_messages(messages)


def test_a_failed_send_is_retried_and_still_sent_only_once(agent, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailsOnceBackend"
    FailsOnceBackend.failures = 1
    run_review_jobs(T0)
    mail.outbox.clear()  # the backup owner's digest failed (sent first); the owner's went out
    digest = ReminderDigest.objects.get(recipient_email=BACKUP)
    assert (digest.status, digest.attempts, len(mail.outbox)) == ("failed", 1, 0)
    assert "SMTP server unreachable" in digest.last_error
    run_review_jobs(T0 + timedelta(hours=1))
    run_review_jobs(T0 + timedelta(hours=2))
    digest.refresh_from_db()
    assert (digest.status, digest.attempts, len(mail.outbox)) == ("sent", 2, 1)


def test_a_digest_claimed_by_a_run_that_died_goes_out_with_the_next_run(agent):
    with at(T0):
        from governance.reviews.reminders import claim_digests, due_reminders

        open_due_campaigns()
        claim_digests(due_reminders(T0)[0], T0)  # ...and the process stopped here
    assert mail.outbox == []
    run_review_jobs(T0 + timedelta(hours=1))
    assert [m.to for m in mail.outbox] == [[BACKUP], [OWNER]]
    assert set(ReminderDigest.objects.values_list("status", flat=True)) == {"sent"}


def test_a_digest_whose_sending_crashed_is_never_sent_again(agent):
    with at(T0):
        from governance.reviews.reminders import claim_digests, due_reminders

        open_due_campaigns()
        digest_ids = claim_digests(due_reminders(T0)[0], T0)
        # The process died between claiming the digests for sending and recording the result.
        ReminderDigest.objects.filter(pk__in=digest_ids).update(status="sending", attempts=1)
        assert {deliver_digest(digest_id) for digest_id in digest_ids} == {"sending"}
        send_due_reminders()
    assert mail.outbox == []


def test_waiting_requests_remind_eligible_approvers_once_after_the_interval(workflow, requester):
    workflow.next_review_due = T0 + 300 * DAY  # no review in the way
    workflow.save()
    pending_request(workflow, requester)
    run_review_jobs(T0 + timedelta(hours=3, minutes=59))
    assert mail.outbox == []
    run_review_jobs(T0 + timedelta(hours=4))
    assert sorted(m.to[0] for m in mail.outbox) == [BACKUP, OWNER]
    assert mail.outbox[0].subject == "1 access request waiting for your decision"
    run_review_jobs(T0 + timedelta(hours=20))
    run_review_jobs(T0 + DAY)
    assert len(mail.outbox) == 2


def test_an_approver_who_already_voted_is_not_reminded(workflow, requester, owner):
    workflow.next_review_due = T0 + 300 * DAY
    workflow.risk_tier = "critical"
    workflow.save()
    request = pending_request(workflow, requester, mode="two_person")
    with at(T0 + timedelta(hours=1)):
        decide(request, approver=owner, decision="approve", comment="one of two")
    run_review_jobs(T0 + timedelta(hours=5))
    assert [m.to for m in mail.outbox] == [[BACKUP]]


def test_the_requester_is_never_reminded_to_approve_their_own_request(workflow, owner):
    workflow.next_review_due = T0 + 300 * DAY
    workflow.save()
    pending_request(workflow, owner)  # the owner asks: only the backup owner may decide
    run_review_jobs(T0 + timedelta(hours=5))
    assert [m.to for m in mail.outbox] == [[BACKUP]]


def test_each_reminder_is_handed_once_to_the_ticket_queue_hook(agent, workflow, monkeypatch):
    received = []

    def queue_review_reminder(campaign, **kwargs):
        received.append({"campaign": campaign, **kwargs})

    monkeypatch.setattr(reminders, "queue_review_reminder", queue_review_reminder)
    run_review_jobs(T0)
    run_review_jobs(T0 + timedelta(hours=2))
    run_review_jobs(T0 + 11 * DAY)
    campaign = ReviewCampaign.objects.get()
    assert [(r["stage"], r["repeat"]) for r in received] == [("opened", 0), ("overdue", 0)]
    opened, overdue = received
    assert opened["campaign"] == campaign
    assert opened["url"] == f"https://mandate.example.test/reviews/{campaign.pk}/"
    assert opened["subject"] == f"Access review of {workflow}: due in 10 days (13 Mar 2031)"
    assert "2 of 2 items still to decide (control owner: Owner <owner@example.test>)" in opened["body"]
    assert "Escalated to the backup owner and security." in overdue["body"]
    # The same reminders reach people by e-mail: the deciders when it opens, everyone when overdue.
    assert [m.to for m in mail.outbox[:2]] == [[BACKUP], [OWNER]]
    assert sorted(address for m in mail.outbox[2:] for address in m.to) == sorted([OWNER, BACKUP, SECURITY])


def test_an_unowned_workflows_reminders_go_to_the_backup_owner(workflow, agent):
    workflow.control_owner.is_active = False
    workflow.control_owner.save()
    run_review_jobs(T0)
    assert [m.to for m in mail.outbox] == [[BACKUP]]
