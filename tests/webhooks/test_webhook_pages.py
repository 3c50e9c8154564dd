"""The webhook pages: administrators manage, auditors read, everyone else is refused."""

import pytest
from django.urls import reverse

from approvals.services import submit_request
from governance.models import WebhookDelivery, WebhookSubscription
from governance.outbound.services import create_subscription
from tests import factories
from tests.webhooks.conftest import deliver_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db, identity_source):
    return factories.UserFactory(username="admin", is_superuser=True, is_staff=True, identity_source=identity_source)


def test_an_administrator_creates_a_subscription_and_sees_its_secret_once(client, admin, receiver):
    client.force_login(admin)
    response = client.post(
        reverse("webhooks:subscription_create"),
        {"name": "SIEM", "url": receiver.url, "event_types": ["grant.issued", "finding.opened"], "enabled": "on"},
    )
    assert response.status_code == 200 and b"whsec_" in response.content
    subscription = WebhookSubscription.objects.get()
    detail = client.get(reverse("webhooks:subscription_detail", args=[subscription.pk]))
    assert detail.status_code == 200 and b"whsec_" not in detail.content


def test_bad_input_is_a_400_with_the_field_named(client, admin):
    client.force_login(admin)
    new = reverse("webhooks:subscription_create")
    response = client.post(new, {"name": "x", "url": "https://siem.example.com/h", "event_types": []})
    assert response.status_code == 400 and "event_types" in response.context["form"].errors
    response = client.post(new, {"name": "x", "url": "http://siem.example.com/h", "event_types": ["grant.issued"]})
    assert response.status_code == 400 and "HTTPS" in str(response.context["form"].errors["url"])
    assert not WebhookSubscription.objects.exists()


def test_the_delivery_log_and_replay(client, admin, auditor, receiver, workflow, requester):
    subscription, secret = create_subscription(name="SIEM", url=receiver.url, event_types=["access_request.submitted"])
    receiver.secrets = [secret]
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement)
    submit_request(workflow=workflow, entitlement=entitlement, duration_seconds=600, requested_by=requester)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    client.force_login(auditor)
    page = client.get(reverse("webhooks:subscription_detail", args=[subscription.pk]))
    assert page.status_code == 200 and delivery.message_id.encode() in page.content and b"Replay" not in page.content
    replay = reverse("webhooks:delivery_replay", args=[subscription.pk, delivery.pk])
    assert client.post(replay).status_code == 403
    client.force_login(admin)
    assert client.post(replay).status_code == 302
    deliver_all()
    assert len(receiver.received) == 2


def test_people_who_are_neither_admin_nor_auditor_are_refused(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("webhooks:subscription_list")).status_code == 403
    assert client.get(reverse("webhooks:subscription_create")).status_code == 403
