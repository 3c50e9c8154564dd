"""The review page: owners see progress and certify or revoke each item or many at once."""

import pytest
from django.test import Client

from approvals.services import authorize
from governance.reviews.services import open_campaign
from tests.reviews.helpers import DAY, T0, at, long_policy, workload_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(workflow, agent, requester):
    workflow.next_review_due = T0 + 10 * DAY
    workflow.save()
    with at(T0):
        policy = long_policy(workflow)
        grant = workload_grant(policy, agent, requester)
        campaign = open_campaign(workflow)
    return campaign, grant, policy


def page(campaign):
    return f"/reviews/{campaign.pk}/"


def signed_in(person):
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    return client


def post(client, campaign, **data):
    client.get(page(campaign))  # sets the CSRF cookie, as a browser would
    return client.post(page(campaign), {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_the_owner_sees_every_item_and_the_progress(setup, owner):
    campaign, grant, _ = setup
    response = signed_in(owner).get(page(campaign))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Access review of {campaign.workflow}" in html
    assert "0 of 4 decided" in html
    for heading in ("Active grant", "Workload identity", "Auto-approving policy", "Control-owner assignment"):
        assert f">{heading}</h2>" in html
    assert "Certify selected" in html


def test_certify_one_item(setup, owner):
    campaign, grant, _ = setup
    item = campaign.items.get(kind="workload")
    client = signed_in(owner)
    response = post(client, campaign, items=[item.pk], decision="certify", comment="Still in use.")
    assert response.status_code == 302 and response["Location"] == page(campaign)
    item.refresh_from_db()
    assert (item.outcome, item.decided_by, item.comment) == ("certified", owner, "Still in use.")
    assert "1 of 4 decided" in client.get(page(campaign)).content.decode()


def test_revoke_in_bulk_ends_access_at_once(setup, owner, agent):
    campaign, grant, policy = setup
    chosen = campaign.items.filter(kind__in=["grant", "policy"]).values_list("pk", flat=True)
    with at(T0 + DAY):
        response = post(signed_in(owner), campaign, items=list(chosen), decision="revoke", comment="Not needed.")
        assert not authorize(workflow=campaign.workflow.slug, scope=policy.entitlement.scope, workload=agent).allow
    assert response.status_code == 302
    grant.refresh_from_db()
    policy.refresh_from_db()
    assert grant.status == "revoked" and policy.approval_mode == "owner"


def test_a_revoke_without_a_comment_is_refused_with_the_reason(setup, owner):
    campaign, grant, _ = setup
    item = campaign.items.get(kind="grant")
    response = post(signed_in(owner), campaign, items=[item.pk], decision="revoke", comment="")
    assert response.status_code == 400
    assert "a revoke or suspension needs a comment" in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == "active"


def test_choosing_nothing_is_a_form_error(setup, owner):
    campaign, _, _ = setup
    response = post(signed_in(owner), campaign, decision="certify")
    assert response.status_code == 400 and "Choose at least one item." in response.content.decode()


def test_deciding_an_item_twice_is_a_conflict(setup, owner):
    campaign, _, _ = setup
    item = campaign.items.get(kind="workload")
    client = signed_in(owner)
    post(client, campaign, items=[item.pk], decision="certify")
    response = post(client, campaign, items=[item.pk], decision="certify")
    assert response.status_code == 409 and "already decided" in response.content.decode()


def test_an_auditor_sees_but_cannot_decide(setup, auditor):
    campaign, _, _ = setup
    client = signed_in(auditor)
    html = client.get(page(campaign)).content.decode()
    assert "0 of 4 decided" in html and "Certify selected" not in html
    item = campaign.items.get(kind="workload")
    lenient = Client()  # no form on the auditor's page, so no CSRF token to send
    lenient.force_login(auditor)
    response = lenient.post(page(campaign), {"items": [item.pk], "decision": "certify"})
    assert response.status_code == 403 and b"CSRF verification failed" not in response.content
    item.refresh_from_db()
    assert item.outcome == "pending"


def test_an_outsider_gets_not_found(setup, outsider):
    campaign, _, _ = setup
    client = Client()
    client.force_login(outsider)
    assert client.get(page(campaign)).status_code == 404
    item = campaign.items.get(kind="workload")
    assert client.post(page(campaign), {"items": [item.pk], "decision": "certify"}).status_code == 404


def test_a_post_without_the_csrf_token_is_refused(setup, owner):
    campaign, _, _ = setup
    item = campaign.items.get(kind="workload")
    response = signed_in(owner).post(page(campaign), {"items": [item.pk], "decision": "certify"})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.outcome == "pending"


def test_an_anonymous_visitor_is_sent_to_sign_in(setup, settings):
    settings.LOGIN_URL = "/accounts/login/"
    campaign, _, _ = setup
    response = Client().get(page(campaign))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_a_completed_review_shows_who_closed_it(setup, owner, backup_owner):
    campaign, _, _ = setup
    client = signed_in(owner)
    post(client, campaign, items=[campaign.items.get(kind="grant").pk], decision="revoke", comment="Unused.")
    rest = campaign.items.exclude(kind="grant").values_list("pk", flat=True)
    post(client, campaign, items=list(rest), decision="certify")
    html = client.get(page(campaign)).content.decode()
    assert "4 of 4 decided" in html and "Closed" in html and "by Owner" in html
    assert "Completed: 3 certified (keep), 1 revoked." in html
    assert "Certify selected" not in html
