"""The sweeper's batches announce every grant they end as the one-grant path does: one
`grant.ended` webhook per grant and subscriber, queued in bulk (one insert of deliveries,
one of outbox rows per batch) under the same message ids and outbox keys, so a retry, or
the ETA task arriving after the sweeper, never sends one twice. On PostgreSQL."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals import signals
from approvals.models import Grant, OutboxMessage
from approvals.services import expire_due_grants, expire_grant
from approvals.services.expiry import EndedGrant
from governance.models import WebhookDelivery
from governance.outbound.events import grant_data, occurrence_message_id
from governance.outbound.services import create_subscription
from tests.access.test_grants import agent_grant
from tests.webhooks.conftest import deliver_all

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("postgresql_only")]


def inserts_into(queries, model):
    return [q["sql"] for q in queries if q["sql"].startswith(f'INSERT INTO "{model._meta.db_table}"')]


def test_every_grant_of_a_batch_gets_its_grant_ended_webhook_queued_in_bulk(
    read_policy, agent, requester, receiver, identity_source, owner
):
    siem, secret = create_subscription(name="SIEM", url=receiver.url, event_types=["grant.ended"])
    audit, other_secret = create_subscription(
        name="Audit", url=receiver.url, event_types=["grant.ended", "grant.issued"]
    )
    create_subscription(name="Issued only", url=receiver.url, event_types=["grant.issued"])
    receiver.secrets = [secret, other_secret]
    grants = [agent_grant(read_policy, agent, requester, task=f"run-{n}") for n in range(4)]
    WebhookDelivery.objects.all().delete()
    OutboxMessage.objects.filter(topic="webhook.deliver").delete()

    with CaptureQueriesContext(connection) as queries:
        assert expire_due_grants(now=timezone.now() + timedelta(hours=1)) == 4  # one batch
    # One insert of deliveries and one of their outbox rows for the whole batch.
    assert len(inserts_into(queries, WebhookDelivery)) == 1
    assert len(inserts_into(queries, OutboxMessage)) == 1
    deliveries = WebhookDelivery.objects.filter(event_type="grant.ended")
    assert deliveries.count() == 8  # four grants, two subscribers
    for grant in grants:
        grant.refresh_from_db()
        for subscription in (siem, audit):
            message_id = occurrence_message_id(subscription, "grant.ended", f"grant:{grant.pk}")
            delivery = deliveries.get(subscription=subscription, message_id=message_id)
            assert delivery.payload["data"] == grant_data(grant)  # as the one-grant path builds it
            assert OutboxMessage.objects.filter(idempotency_key=f"webhook.deliver:{message_id}").count() == 1

    # A retry of the batch's announcement, or the one-grant path for one of its grants, adds nothing.
    ended = [EndedGrant(g.pk, g.request_id, g.workflow_id, g.entitlement_id, g.workload_id, g.on_behalf_of_id,
                        g.task_ref, "github:repo:read", g.expires_at) for g in grants]  # fmt: skip
    signals.grants_expired.send(sender=Grant, grants=ended, now=timezone.now())
    signals.grant_ended.send(sender=Grant, grant=grants[0], reason="again")
    assert WebhookDelivery.objects.filter(event_type="grant.ended").count() == 8
    assert OutboxMessage.objects.filter(topic="webhook.deliver").count() == 8

    deliver_all()
    arrived = receiver.events("grant.ended")
    assert sorted(e["data"]["id"] for e in arrived) == sorted([g.pk for g in grants] * 2)
    assert {e["data"]["status"] for e in arrived} == {"expired"}
    assert receiver.refused == []


def test_the_one_grant_path_uses_the_same_message_id(read_policy, agent, requester, receiver):
    subscription, secret = create_subscription(name="SIEM", url=receiver.url, event_types=["grant.ended"])
    grant = agent_grant(read_policy, agent, requester)
    assert expire_grant(grant.pk, now=grant.expires_at + timedelta(seconds=1))
    (delivery,) = WebhookDelivery.objects.filter(event_type="grant.ended")
    assert delivery.message_id == occurrence_message_id(subscription, "grant.ended", f"grant:{grant.pk}")
    # The sweeper, finding it ended, has nothing to add.
    assert expire_due_grants(now=grant.expires_at + timedelta(hours=1)) == 0
    assert WebhookDelivery.objects.filter(event_type="grant.ended").count() == 1
