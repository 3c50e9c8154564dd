"""Walk-around 5 (overdue): the alignment report, the dashboard, the reviews API and the
reminders agree that a review is overdue, because they read one selector."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.alignment.report import alignment_report
from governance.models import Workflow
from governance.reviews.reminders import campaign_stage
from governance.reviews.services import open_campaign
from tests.reviews.helpers import long_policy, person_grant

pytestmark = pytest.mark.django_db


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
    # The reminders escalate it (calendar days: from the day after the due date).
    assert campaign_stage(campaign, timezone.localdate(campaign.due_at) + timedelta(days=1))[0] == "overdue"
    report = alignment_report(Workflow.objects.filter(pk=workflow.pk), scope="test")
    assert report.facts["reviews_overdue"] == 1
    assert "1 workflows have an overdue or unscheduled access review" in str(report.results)
