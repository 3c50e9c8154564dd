"""Walk-around 5 (overdue): the alignment report, the dashboard, the reviews API, the
reminders and their escalation, the registry list and the metrics agree on which reviews
are overdue, because they read one selector (`governance.reviews.models.review_overdue`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.alignment.report import alignment_report
from governance.choices import ReminderStage
from governance.metrics.collector import DatabaseCollector
from governance.models import ReviewCampaign, Workflow
from governance.reviews.reminders import campaign_stage, due_reminders
from governance.reviews.services import decide_items, enforce_review_deadlines, open_campaign
from governance.selectors import registry
from tests import factories
from tests.reviews.helpers import DAY, T0, at, long_policy, person_grant

pytestmark = pytest.mark.django_db

NOW = T0 + 10 * DAY  # the moment every reader is asked
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize("viewer", ["owner", "auditor"])
def test_an_overdue_review_is_overdue_everywhere(request, viewer, workflow, owner, requester, api_as, client):
    """For the owner and for the auditor alike (whose dashboard once showed 0 reviews due)."""
    person = request.getfixturevalue(viewer)
    person_grant(long_policy(workflow), requester)
    campaign = open_campaign(workflow)
    campaign.opened_at = timezone.now() - timedelta(days=20)
    campaign.due_at = timezone.now() - timedelta(hours=1)  # due an hour ago, well within the grace days
    campaign.save(update_fields=["opened_at", "due_at"])

    api = api_as(person).get("/api/v1/reviews/", {"overdue": "true"}).json()
    assert [r["id"] for r in api["results"]] == [campaign.pk]
    client.force_login(person)
    assert client.get("/").context["reviews_overdue"] == 1
    assert campaign_stage(campaign, timezone.now())[0] == ReminderStage.OVERDUE
    report = alignment_report(Workflow.objects.filter(pk=workflow.pk), scope="test")
    assert report.facts["reviews_overdue"] == 1
    assert "1 workflows have an overdue or unscheduled access review" in str(report.results)


def _reviewed_workflow(name, due, *, owner, backup_owner, identity_source, requester):
    """A workflow whose access review opened at T0 and is due at `due`, with one grant under review."""
    workflow = factories.WorkflowFactory(
        name=name, control_owner=owner, backup_owner=backup_owner, identity_source=identity_source, next_review_due=due
    )
    with at(T0):
        person_grant(long_policy(workflow), requester, seconds=30 * 86400)
        campaign = open_campaign(workflow)
    assert campaign.due_at == due
    return workflow, campaign


def _overdue_items_gauge():
    (family,) = [f for f in DatabaseCollector().collect() if f.name == "mandate_review_items_overdue"]
    return family.samples[0].value


def test_just_past_due_and_due_this_instant_are_overdue_everywhere_just_before_and_completed_late_nowhere(
    owner, backup_owner, identity_source, requester, api_as, client
):
    people = {"owner": owner, "backup_owner": backup_owner, "identity_source": identity_source, "requester": requester}
    _, past = _reviewed_workflow("Just past", NOW - MINUTE, **people)
    _, instant = _reviewed_workflow("Due this instant", NOW, **people)
    _, before = _reviewed_workflow("Just before", NOW + MINUTE, **people)
    _, late = _reviewed_workflow("Completed late", NOW - 2 * DAY, **people)
    with at(NOW - DAY):  # a day after its due date, before anyone enforced it
        decide_items(late, late.items.values_list("pk", flat=True), by=backup_owner, decision="certify")
    late.refresh_from_db()
    assert late.status == "completed" and late.closed_at > late.due_at
    overdue = {past.pk, instant.pk}
    scope = Workflow.objects.filter(review_campaigns__in=[past, instant, before, late])

    with at(NOW):
        # The reviews API.
        api = api_as(owner).get("/api/v1/reviews/", {"overdue": "true"}).json()
        assert {r["id"] for r in api["results"]} == overdue
        listed = api_as(owner).get("/api/v1/reviews/").json()["results"]
        assert {r["id"] for r in listed if r["overdue"]} == overdue
        # The dashboard.
        client.force_login(owner)
        dashboard = client.get("/").context
        assert dashboard["reviews_overdue"] == 2
        assert {r.row.campaign.pk for r in dashboard["reviews"] if r.overdue} == overdue
        # The reminders: the escalation goes out for exactly those.
        _, tickets = due_reminders(timezone.now())
        assert {r.campaign.pk for r in tickets if r.stage == ReminderStage.OVERDUE} == overdue
        assert {r.campaign.pk for r in tickets} == {past.pk, instant.pk, before.pk}
        # The alignment report and the registry list (workflows).
        assert alignment_report(scope, scope="test").facts["reviews_overdue"] == 2
        assert {w.pk for w in registry(owner, overdue=True)} == {past.workflow_id, instant.workflow_id}
        # The metrics: the undecided items of those two reviews, none of the one due in a minute.
        pending_of_overdue = sum(c.items.filter(outcome="pending").count() for c in (past, instant))
        assert pending_of_overdue > 0 and before.items.filter(outcome="pending").exists()
        assert _overdue_items_gauge() == pending_of_overdue
        # The deadline's consequence is applied to exactly those.
        enforce_review_deadlines()
    missed = set(ReviewCampaign.objects.filter(deadline_missed_at__isnull=False).values_list("pk", flat=True))
    assert missed == overdue
