"""Demo access reviews for `load_demo`: a completed one, an open one and an overdue one,
and the day's reminders waiting to be sent.

Runs after the demo requests and grants. Idempotent: a workflow that already has a
review is left as it is.
"""

from datetime import timedelta

from django.utils import timezone

from governance.choices import ReviewItemKind
from governance.models import Workflow
from governance.reviews.reminders import claim_digests, due_reminders
from governance.reviews.services import apply_missed_deadline, decide_items, open_campaign


def _fresh(slug):
    workflow = Workflow.objects.get(slug=slug)
    return None if workflow.review_campaigns.exists() else workflow


def _ids(campaign, *kinds):
    return list(campaign.items.filter(kind__in=kinds).values_list("pk", flat=True))


def load_reviews(command, people):
    now = timezone.now()
    olivia = people["olivia"]

    # Completed: the coding agent's monthly review, opened five days ago, answered today.
    workflow = _fresh("pr-coding-agent")
    if workflow:
        workflow.next_review_due = now + timedelta(days=2)
        workflow.save(update_fields=["next_review_due"])
        campaign = open_campaign(workflow, now=now - timedelta(days=5))
        decide_items(
            campaign,
            _ids(campaign, *ReviewItemKind.values),
            by=olivia,
            decision="certify",
            comment="Agent still picks up labelled issues; access unchanged.",
        )

    # Open: support summarisation, due in four days, half done.
    workflow = _fresh("support-ticket-summarisation")
    if workflow:
        workflow.next_review_due = now + timedelta(days=4)
        workflow.save(update_fields=["next_review_due"])
        campaign = open_campaign(workflow, now=now - timedelta(days=3))
        decide_items(
            campaign,
            _ids(campaign, ReviewItemKind.WORKLOAD, ReviewItemKind.OWNERSHIP),
            by=olivia,
            decision="certify",
            comment="Still the summariser of record.",
        )

    # Overdue: finance drafting, due three days ago; its missed-deadline setting applied.
    workflow = _fresh("finance-report-drafting")
    if workflow:
        workflow.next_review_due = now - timedelta(days=3)
        workflow.save(update_fields=["next_review_due"])
        campaign = open_campaign(workflow, now=now - timedelta(days=17))
        apply_missed_deadline(campaign, now=now)  # nobody answered: that is the point of this one

    # Today's reminder e-mails, claimed but not sent: the worker's next reminder job sends
    # them (load_demo itself sends nothing). A second run the same day finds them claimed.
    claim_digests(due_reminders(now)[0], now)
