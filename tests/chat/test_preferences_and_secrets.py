"""Notification preferences in the portal, and the chat secrets never in clear."""

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core import mail
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from approvals.models import NotificationPreference, SlackAccount, SlackConnection
from governance.reviews.reminders import send_due_reminders
from tests import factories
from tests.chat.conftest import ask

pytestmark = pytest.mark.django_db


def test_a_person_turns_reminder_e_mails_off_and_gets_none(client, owner, requester, workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement, reminder_interval_seconds=60)
    client.force_login(owner)
    page = client.get(reverse("chat:preferences"))
    assert page.status_code == 200 and b"E-mail" in page.content
    client.post(reverse("chat:preferences"), {"slack_dm": "on"})
    assert NotificationPreference.objects.filter(user=owner, email=False, slack_dm=True).exists()
    request = ask(entitlement.policies.get(), requester)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        send_due_reminders()
    recipients = {address for message in mail.outbox for address in message.to}
    assert owner.email not in recipients and "backup@example.test" in recipients
    assert request.pk


def test_only_your_own_slack_link_can_be_removed(client, owner, outsider, installation):
    mine = SlackAccount.objects.create(connection=installation, slack_user_id="UOWNER", user=owner, linked_by="email")
    client.force_login(outsider)
    assert client.post(reverse("chat:slack_unlink", args=[mine.pk])).status_code == 403
    client.force_login(owner)
    assert b"UOWNER" in client.get(reverse("chat:preferences")).content
    client.post(reverse("chat:slack_unlink", args=[mine.pk]))
    assert not SlackAccount.objects.exists()


def test_the_bot_token_and_signing_secret_are_never_stored_in_clear(installation, slack):
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM approvals_slackconnection")
        row = " ".join(str(v) for v in cursor.fetchone())
    assert slack.token not in row and slack.signing_secret not in row
    fresh = SlackConnection.objects.get(pk=installation.pk)
    assert (fresh.bot_token, fresh.signing_secret) == (slack.token, slack.signing_secret)
    logged = " ".join(str(e.changes) for e in LogEntry.objects.all())
    assert "sealed" not in logged and slack.token not in logged
