"""Access reviews in the portal: the reviews list, the workflow's reviews tab, the dashboard's
due reviews, and certifying or revoking items in place on the campaign page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.services import revoke_grant
from governance.reviews.services import open_campaign
from tests import factories
from tests.reviews.helpers import long_policy, person_grant, workload_grant

from .conftest import signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def campaign_of(workflow, *, due_in=timedelta(days=5), opened_ago=timedelta(days=2)):
    """Open a review of `workflow` (which must have something to review), due `due_in` from
    now — negative for one already overdue."""
    now = timezone.now()
    workflow.next_review_due = now + due_in
    workflow.save(update_fields=["next_review_due"])
    return open_campaign(workflow, now=now - opened_ago)


@pytest.fixture
def review(workflow, agent, requester):
    """An open review of the workflow: the agent's grant, the agent, the auto-approving
    policy and the control-owner assignment."""
    policy = long_policy(workflow)
    grant = workload_grant(policy, agent, requester)
    return campaign_of(workflow), grant


def item(campaign, kind):
    return campaign.items.get(kind=kind)


def decide(client, campaign, *, htmx=True, **data):
    return client.post(campaign.get_absolute_url(), data, **(HTMX if htmx else {}))


class TestTheReviewsList:
    def test_owners_see_the_reviews_of_their_workflows_only(self, as_owner, review, owner):
        campaign, _ = review
        elsewhere = factories.WorkflowFactory(control_owner=factories.UserFactory())
        factories.WorkloadIdentityFactory(workflow=elsewhere)
        campaign_of(elsewhere)
        response = as_owner.get(reverse("reviews:campaign_list"))
        assert response.status_code == 200
        assert [row.campaign for row in response.context["rows"]] == [campaign]
        html = response.content.decode()
        assert campaign.get_absolute_url() in html and "0 of 4 decided" in html

    def test_an_auditor_sees_every_review_and_an_outsider_none(self, as_auditor, as_outsider, review):
        campaign, _ = review
        assert [r.campaign for r in as_auditor.get(reverse("reviews:campaign_list")).context["rows"]] == [campaign]
        response = as_outsider.get(reverse("reviews:campaign_list"))
        assert response.context["rows"] == [] and "No open review" in response.content.decode()

    def test_overdue_reviews_stand_out_and_have_their_own_view(self, as_owner, owner, review):
        late = factories.WorkflowFactory(name="Late one", control_owner=owner)
        factories.WorkloadIdentityFactory(workflow=late)
        overdue = campaign_of(late, due_in=-timedelta(days=2), opened_ago=timedelta(days=16))
        response = as_owner.get(reverse("reviews:campaign_list"))
        assert response.context["counts"] == {"open": 2, "overdue": 1, "completed": 0}
        first = response.context["rows"][0]
        assert first.campaign == overdue and first.state.label == "Overdue"
        only_overdue = as_owner.get(reverse("reviews:campaign_list"), {"show": "overdue"})
        assert [r.campaign for r in only_overdue.context["rows"]] == [overdue]

    def test_search_and_unknown_views(self, as_owner, review):
        campaign, _ = review
        found = as_owner.get(reverse("reviews:campaign_list"), {"show": "all", "q": campaign.workflow.name})
        assert [r.campaign for r in found.context["rows"]] == [campaign]
        assert as_owner.get(reverse("reviews:campaign_list"), {"q": "no such workflow"}).context["rows"] == []
        assert as_owner.get(reverse("reviews:campaign_list"), {"show": "bogus"}).status_code == 404

    def test_the_list_has_a_fixed_number_of_queries(self, as_auditor, owner, django_assert_max_num_queries):
        for _ in range(12):
            workflow = factories.WorkflowFactory(control_owner=owner, backup_owner=factories.UserFactory())
            factories.WorkloadIdentityFactory(workflow=workflow)
            campaign_of(workflow)
        with django_assert_max_num_queries(8):
            response = as_auditor.get(reverse("reviews:campaign_list"), {"show": "all"})
        assert len(response.context["rows"]) == 12


class TestTheWorkflowsReviewsTab:
    def test_it_lists_each_campaign_with_progress_due_date_and_link(self, as_owner, review, owner):
        campaign, _ = review
        decide(as_owner, campaign, items=[item(campaign, "workload").pk], decision="certify")
        response = as_owner.get(reverse("governance:workflow_tab", args=[campaign.workflow.slug, "reviews"]))
        html = response.content.decode()
        assert "will be listed here" not in html
        assert f'href="{campaign.get_absolute_url()}"' in html
        assert "1 of 4 decided" in html and "Answer review" in html

    def test_a_workflow_without_reviews_says_when_one_opens(self, as_owner, workflow):
        html = as_owner.get(reverse("governance:workflow_tab", args=[workflow.slug, "reviews"])).content.decode()
        assert "No review has opened yet." in html

    def test_the_tab_has_a_fixed_number_of_queries(self, as_owner, workflow, agent, django_assert_max_num_queries):
        for days in range(8):
            campaign = campaign_of(workflow, opened_ago=timedelta(days=40 + days))
            item_ids = list(campaign.items.values_list("pk", flat=True))
            decide(as_owner, campaign, items=item_ids, decision="certify")
        with django_assert_max_num_queries(10):
            response = as_owner.get(reverse("governance:workflow_tab", args=[workflow.slug, "reviews"]))
        assert len(response.context["campaign_rows"]) == 8


class TestTheDashboard:
    def test_due_and_overdue_reviews_link_to_their_campaign(self, as_owner, owner, review):
        campaign, _ = review
        late = factories.WorkflowFactory(name="Late one", control_owner=owner)
        factories.WorkloadIdentityFactory(workflow=late)
        overdue = campaign_of(late, due_in=-timedelta(days=2), opened_ago=timedelta(days=16))
        response = as_owner.get(reverse("governance:dashboard"))
        reviews = response.context["reviews"]
        assert [r.url for r in reviews] == [overdue.get_absolute_url(), campaign.get_absolute_url()]
        assert response.context["reviews_overdue"] == 1
        html = response.content.decode()
        assert f'href="{overdue.get_absolute_url()}"' in html and "was due 2 days ago" in html

    def test_a_review_due_before_its_campaign_opens_links_to_the_workflow(self, as_owner, owner):
        soon = factories.WorkflowFactory(control_owner=owner, next_review_due=timezone.now() + timedelta(days=10))
        (review,) = as_owner.get(reverse("governance:dashboard")).context["reviews"]
        assert review.workflow == soon and review.row is None
        assert review.url == reverse("governance:workflow_tab", args=[soon.slug, "reviews"])

    def test_completed_reviews_are_not_due(self, as_owner, review):
        campaign, _ = review
        decide(as_owner, campaign, items=list(campaign.items.values_list("pk", flat=True)), decision="certify")
        reviews = as_owner.get(reverse("governance:dashboard")).context["reviews"]
        assert all(r.url != campaign.get_absolute_url() for r in reviews)

    def test_many_open_reviews_cost_a_fixed_number_of_queries(self, as_owner, owner, django_assert_max_num_queries):
        for _ in range(10):
            workflow = factories.WorkflowFactory(control_owner=owner)
            factories.WorkloadIdentityFactory(workflow=workflow)
            campaign_of(workflow)
        with django_assert_max_num_queries(15):
            response = as_owner.get(reverse("governance:dashboard"))
        assert len(response.context["reviews"]) == 10


class TestDecidingInPlace:
    def test_certifying_one_item_swaps_the_review_in_place(self, as_owner, review, owner):
        campaign, _ = review
        workload_item = item(campaign, "workload")
        response = decide(as_owner, campaign, items=[workload_item.pk], decision="certify", where="item")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="review-body"' in html and "<html" not in html
        row = html.split(f'id="item-{workload_item.pk}"')[1].split("</li>")[0]
        assert "Done:" in row and "Certified (keep)" in row
        assert "1 of 4 decided" in html
        workload_item.refresh_from_db()
        assert (workload_item.outcome, workload_item.decided_by) == ("certified", owner)

    def test_revoking_from_a_row_needs_a_reason_and_says_so_in_that_row(self, as_owner, review):
        campaign, grant = review
        grant_item = item(campaign, "grant")
        response = decide(as_owner, campaign, items=[grant_item.pk], decision="revoke", comment="", where="item")
        assert response.status_code == 400
        row = response.content.decode().split(f'id="item-{grant_item.pk}"')[1].split("</li>")[0]
        assert "Not done:" in row and "needs a comment" in row
        grant.refresh_from_db()
        assert grant.status == "active"

    def test_revoking_a_grant_ends_it_at_once(self, as_owner, review):
        campaign, grant = review
        grant_item = item(campaign, "grant")
        response = decide(
            as_owner, campaign, items=[grant_item.pk], decision="revoke", comment="Task done.", where="item"
        )
        assert response.status_code == 200
        row = response.content.decode().split(f'id="item-{grant_item.pk}"')[1].split("</li>")[0]
        assert "Revoked: the grant has ended." in row and "Task done." in row
        grant.refresh_from_db()
        assert grant.status == "revoked"

    def test_bulk_certify_reports_at_the_top_and_completes_the_review(self, as_owner, review):
        campaign, _ = review
        decide(as_owner, campaign, items=[item(campaign, "grant").pk], decision="revoke", comment="Unused.")
        rest = list(campaign.items.exclude(kind="grant").values_list("pk", flat=True))
        response = decide(as_owner, campaign, items=rest, decision="certify", comment="Still needed.")
        html = response.content.decode()
        assert response.status_code == 200 and "3 items certified." in html
        assert "Completed" in html and "4 of 4 decided" in html and 'id="bulk"' not in html
        campaign.refresh_from_db()
        assert campaign.status == "completed"

    def test_a_plain_browser_post_redirects_with_a_message(self, as_owner, review):
        campaign, _ = review
        response = decide(as_owner, campaign, htmx=False, items=[item(campaign, "workload").pk], decision="certify")
        assert response.status_code == 302 and response["Location"] == campaign.get_absolute_url()
        follow = as_owner.get(response["Location"])
        assert "Certified (keep)." in follow.content.decode()

    def test_an_item_already_decided_is_a_conflict_shown_in_its_row(self, as_owner, as_backup, review):
        campaign, _ = review
        workload_item = item(campaign, "workload")
        decide(as_backup, campaign, items=[workload_item.pk], decision="certify")
        response = decide(as_owner, campaign, items=[workload_item.pk], decision="certify", where="item")
        assert response.status_code == 409
        row = response.content.decode().split(f'id="item-{workload_item.pk}"')[1].split("</li>")[0]
        assert "already decided" in row

    def test_an_item_whose_grant_ended_meanwhile_is_not_offered_for_a_decision(self, as_owner, review, owner):
        campaign, grant = review
        revoke_grant(grant, by=owner, reason="Done early")
        grant_item = item(campaign, "grant")
        html = as_owner.get(campaign.get_absolute_url()).content.decode()
        row = html.split(f'id="item-{grant_item.pk}"')[1].split("</li>")[0]
        assert "Ended meanwhile" in row and "✓ Certify" not in row and 'type="checkbox"' not in row
        assert "Select all 3 items" in html

    def test_the_auditor_reads_the_review_without_any_button(self, as_auditor, review):
        campaign, _ = review
        html = as_auditor.get(campaign.get_absolute_url()).content.decode()
        assert "only the workflow's owners answer it" in html
        assert "✓ Certify" not in html and "Revoke…" not in html


class TestSeparationOfDuties:
    @pytest.fixture
    def own_grant_review(self, workflow, owner, agent):
        policy = long_policy(workflow)
        grant = person_grant(policy, owner)
        return campaign_of(workflow), grant

    def test_the_owner_is_told_their_own_access_is_the_other_owners_to_certify(self, as_owner, own_grant_review):
        campaign, _ = own_grant_review
        grant_item = item(campaign, "grant")
        html = as_owner.get(campaign.get_absolute_url()).content.decode()
        row = html.split(f'id="item-{grant_item.pk}"')[1].split("</li>")[0]
        assert "Your own access" in row and "✓ Certify" not in row and "Revoke…" in row

    def test_certifying_ones_own_access_is_refused_with_the_reason(self, as_owner, own_grant_review):
        campaign, _ = own_grant_review
        grant_item = item(campaign, "grant")
        workload_item = item(campaign, "workload")
        response = decide(as_owner, campaign, items=[grant_item.pk, workload_item.pk], decision="certify")
        assert response.status_code == 403
        html = response.content.decode()
        assert "Not done:" in html and "Nobody certifies their own access" in html
        # All or nothing: the other item of the batch waits too.
        workload_item.refresh_from_db()
        assert workload_item.outcome == "pending"

    def test_the_backup_owner_certifies_it(self, as_backup, own_grant_review, backup_owner):
        campaign, _ = own_grant_review
        grant_item = item(campaign, "grant")
        response = decide(as_backup, campaign, items=[grant_item.pk], decision="certify", where="item")
        assert response.status_code == 200
        grant_item.refresh_from_db()
        assert (grant_item.outcome, grant_item.decided_by) == ("certified", backup_owner)


def test_the_campaign_page_has_a_fixed_number_of_queries(owner, workflow, agent, django_assert_max_num_queries):
    policy = long_policy(workflow)
    for n in range(15):
        workload_grant(policy, agent, factories.UserFactory(), task=f"run-{n}")
    campaign = campaign_of(workflow)
    client = signed_in(owner)
    with django_assert_max_num_queries(9):  # 9th: the review ticket link
        response = client.get(campaign.get_absolute_url())
    assert response.context["total"] == 18
