"""Outbound webhooks: signed the Standard Webhooks way, at least once, through the outbox,
with a delivery log and replay; never a secret or evidence payload in a body."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals.models import OutboxMessage
from approvals.queues.outbox import retry_now
from approvals.services import decide, submit_request, suspend_workload
from governance.exceptions import InvalidInput
from governance.models import WebhookDelivery, WebhookSubscription
from governance.outbound.services import create_subscription, replay_delivery, rotate_secret
from tests import factories
from tests.webhooks.conftest import deliver_all

pytestmark = pytest.mark.django_db

ALL = [
    "access_request.submitted",
    "access_request.decided",
    "grant.issued",
    "grant.ended",
    "review.opened",
    "review.overdue",
    "workload.suspended",
    "finding.opened",
]


@pytest.fixture
def subscribed(receiver):
    subscription, secret = create_subscription(name="SIEM", url=receiver.url, event_types=ALL)
    receiver.secrets = [secret]
    return subscription


@pytest.fixture
def write_policy(workflow):
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    return factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)


def ask(policy, requester=None, **kwargs):
    kwargs.setdefault("requested_by", requester)
    why = "Private reasoning about customer Zed"
    return submit_request(workflow=policy.workflow, entitlement=policy.entitlement, duration_seconds=600,
                          task_ref="PLAT-9", justification=why, **kwargs)  # fmt: skip


def test_a_request_s_life_arrives_signed_and_verifiable(subscribed, receiver, write_policy, requester, owner):
    request = ask(write_policy, requester)
    decide(request, approver=owner, decision="approve", comment="ok, secret plan")
    deliver_all()
    assert [e["type"] for e in receiver.events()] == ["access_request.submitted", "access_request.decided",
                                                      "grant.issued"]  # fmt: skip
    decided = receiver.events("access_request.decided")[0]["data"]
    assert decided["decision"] == {"by": "owner", "decision": "approve", "channel": "browser"}
    assert decided["id"] == request.pk and decided["url"].endswith(f"/access/requests/{request.pk}/")
    headers = receiver.received[0][0]
    assert headers["webhook-id"].startswith("msg_") and headers["webhook-signature"].startswith("v1,")
    assert WebhookDelivery.objects.filter(status="delivered").count() == 3
    assert receiver.refused == []


def test_bodies_carry_no_secret_no_free_text_and_no_evidence_payload(subscribed, receiver, workflow, owner, requester):
    agent = factories.WorkloadIdentityFactory(workflow=workflow, owner=owner)
    read = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    policy = factories.PolicyFactory(workflow=workflow, entitlement=read, max_ttl_seconds=3600)
    request = ask(policy, requested_by=None, workload=agent, on_behalf_of=requester)
    suspend_workload(agent, reason="leaked key", by=owner)
    deliver_all()
    bodies = json.dumps(receiver.events())
    grant = request.grant
    grant.refresh_from_db()
    assert "grant.issued" in bodies and "workload.suspended" in bodies and "grant.ended" in bodies
    for secret in (grant.token_id, "Private reasoning", "customer Zed", "leaked key", "payload_sha256"):
        assert secret and secret not in bodies


def test_rotation_keeps_the_old_secret_valid_for_the_grace_period(subscribed, receiver, write_policy, requester):
    old = receiver.secrets[0]
    subscription, new = rotate_secret(subscribed)
    assert new != old and new.startswith("whsec_")
    ask(write_policy, requester)
    deliver_all()
    headers, event = receiver.received[-1]
    body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    assert receiver.verified_by(old, body, headers) and receiver.verified_by(new, body, headers)
    assert len(headers["webhook-signature"].split(" ")) == 2
    receiver.secrets = [new]  # the receiver switched during the grace period
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        ask(write_policy, requester, idempotency_key="second")
        deliver_all()
        headers, event = receiver.received[-1]
        body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
        assert receiver.verified_by(new, body, headers) and not receiver.verified_by(old, body, headers)


def test_a_receiver_outage_is_retried_with_the_same_id_and_logged(subscribed, receiver, write_policy, requester):
    receiver.status = 503
    ask(write_policy, requester)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    first_id = receiver.received[0][0]["webhook-id"]
    receiver.status = 200
    retry_now(OutboxMessage.objects.filter(topic="webhook.deliver").values_list("pk", flat=True))
    deliver_all()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert [h["webhook-id"] for h, _e in receiver.received] == [first_id, first_id]


def test_a_replay_sends_the_same_message_again(subscribed, receiver, write_policy, requester):
    ask(write_policy, requester)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    replay_delivery(delivery)
    deliver_all()
    delivery.refresh_from_db()
    assert delivery.replays == 1 and delivery.status == "delivered" and len(receiver.received) == 2
    assert receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"] == delivery.message_id


def test_subscribers_get_only_the_events_they_chose(receiver, write_policy, requester):
    _s, secret = create_subscription(name="Grants only", url=receiver.url, event_types=["grant.issued"])
    receiver.secrets = [secret]
    ask(write_policy, requester)
    deliver_all()
    assert receiver.received == [] and WebhookDelivery.objects.count() == 0


@pytest.mark.parametrize(
    "url, events, field",
    [
        ("http://siem.example.com/hook", ["grant.issued"], "url"),
        ("https://user:pw@siem.example.com/hook", ["grant.issued"], "url"),
        ("https://siem.example.com/hook", [], "event_types"),
        ("https://siem.example.com/hook", ["grant.stolen"], "event_types"),
    ],
)
def test_bad_subscriptions_are_refused_with_field_errors(url, events, field):
    with pytest.raises(InvalidInput) as refused:
        create_subscription(name="x", url=url, event_types=events)
    assert field in refused.value.field_errors


def test_the_secret_is_stored_sealed(subscribed, receiver):
    stored = WebhookSubscription.objects.values_list("secret_sealed", flat=True).get()
    assert receiver.secrets[0] not in stored and receiver.secrets[0][6:] not in stored
