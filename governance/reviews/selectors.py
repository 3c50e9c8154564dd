"""Read-side queries of the access reviews: campaign lists with their progress, the
reviews the dashboard puts in front of a person, and who may decide what is left of a
campaign (whom its reminders reach). Each list is one query (no N+1)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from governance import permissions
from governance.choices import CampaignStatus, ReviewOutcome
from governance.reviews.decisions import item_reviewers
from governance.reviews.models import review_overdue
from governance.selectors import DUE_SOON, dashboard_scope, review_status

# An open campaign due within this window shows as "due soon".
CAMPAIGN_DUE_SOON = timedelta(days=3)
CAMPAIGN_RELATED = ("workflow", "workflow__control_owner", "workflow__backup_owner", "closed_by")

SHOW = {
    "open": "Open",
    "overdue": "Overdue",
    "completed": "Completed",
    "all": "All",
}


@dataclass(frozen=True)
class CampaignState:
    key: str  # open / due_soon / overdue / completed — also the badge's tone
    label: str


def campaign_state(campaign, now=None):
    """Where a campaign stands: completed, overdue, due soon or open."""
    now = now or timezone.now()
    if not campaign.is_open:
        return CampaignState("completed", "Completed")
    if campaign.is_overdue(now):
        return CampaignState("overdue", "Overdue")
    if campaign.due_at - now <= CAMPAIGN_DUE_SOON:
        return CampaignState("due_soon", "Due soon")
    return CampaignState("open", "Open")


@dataclass(frozen=True)
class CampaignRow:
    """A campaign with its state and progress, as the lists show it."""

    campaign: object
    state: CampaignState
    decided: int
    total: int

    @property
    def percent(self):
        return round(100 * self.decided / self.total) if self.total else 100

    @property
    def pending(self):
        return self.total - self.decided


def with_progress(campaigns):
    """Annotate each campaign's item count and decided count, in the same query."""
    return campaigns.annotate(
        item_count=Count("items"),
        decided_count=Count("items", filter=~Q(items__outcome=ReviewOutcome.PENDING)),
    )


def rows(campaigns, now=None):
    """`CampaignRow`s of annotated campaigns (see `with_progress`)."""
    now = now or timezone.now()
    return [CampaignRow(c, campaign_state(c, now), c.decided_count, c.item_count) for c in campaigns]


def campaigns_for(user, *, show="open", q="", now=None):
    """The reviews page: campaigns the person may see; open ones soonest due first,
    completed ones most recently closed first."""
    now = now or timezone.now()
    campaigns = permissions.visible_campaigns(user).select_related(*CAMPAIGN_RELATED)
    if q:
        campaigns = campaigns.filter(Q(workflow__name__icontains=q) | Q(workflow__slug__icontains=q))
    if show == "open":
        campaigns = campaigns.filter(status=CampaignStatus.OPEN).order_by("due_at", "pk")
    elif show == "overdue":
        campaigns = campaigns.filter(review_overdue(now)).order_by("due_at", "pk")
    elif show == "completed":
        campaigns = campaigns.filter(status=CampaignStatus.COMPLETED).order_by("-closed_at", "-pk")
    else:
        # Open before completed ("completed" sorts after "open"), then by date.
        campaigns = campaigns.order_by("-status", "due_at", "-pk")
    return with_progress(campaigns)


def campaign_counts(user, now=None):
    """How many open, overdue and completed campaigns the person may see (one query)."""
    now = now or timezone.now()
    return permissions.visible_campaigns(user).aggregate(
        open=Count("pk", filter=Q(status=CampaignStatus.OPEN)),
        overdue=Count("pk", filter=review_overdue(now)),
        completed=Count("pk", filter=Q(status=CampaignStatus.COMPLETED)),
    )


def workflow_campaigns(workflow):
    """A workflow's campaigns, newest first, with their progress."""
    campaigns = workflow.review_campaigns.select_related("closed_by").order_by("-opened_at", "-pk")
    return with_progress(campaigns)


@dataclass(frozen=True)
class DueReview:
    """One line of the dashboard's "reviews due and overdue": an open campaign, or a
    workflow whose review is due soon or overdue but whose campaign has not opened yet."""

    workflow: object
    state: object  # CampaignState or selectors.ReviewStatus
    due_at: object
    url: str
    row: CampaignRow | None = None

    @property
    def overdue(self):
        return self.state.key in ("overdue", "in_grace")


def reviews_due(user, workflows, now=None, limit=50):
    """What the person's dashboard shows under reviews: every open campaign in its scope
    (soonest due first), and those of `workflows` (the dashboard's, already loaded) whose
    review is due within `DUE_SOON` but whose campaign has not opened yet."""
    now = now or timezone.now()
    open_campaigns = with_progress(
        permissions.visible_campaigns(user)
        .filter(status=CampaignStatus.OPEN, workflow__in=dashboard_scope(user).values("pk"))
        .select_related(*CAMPAIGN_RELATED)
        .order_by("due_at", "pk")
    )[:limit]
    found = [
        DueReview(row.campaign.workflow, row.state, row.campaign.due_at, row.campaign.get_absolute_url(), row)
        for row in rows(open_campaigns, now)
    ]
    covered = {entry.workflow.pk for entry in found}
    for workflow in workflows:
        due = workflow.next_review_due
        if workflow.pk not in covered and due is not None and due <= now + DUE_SOON:
            url = reverse("governance:workflow_tab", args=[workflow.slug, "reviews"])
            found.append(DueReview(workflow, review_status(workflow, now), due, url))
    return sorted(found, key=lambda entry: entry.due_at)


PENDING_ITEM_RELATED = ("grant__workload", "workload")


@dataclass(frozen=True)
class CampaignDeciders:
    """Who may decide what is left of a campaign, by `reviews.decisions.item_reviewers`
    (so by `approvals.policy.whose_access`): an item about an owner goes to the other
    owner, one no owner may certify to the security team. Reminders follow this, so
    nobody is chased to decide an item about themselves."""

    first: tuple  # for each pending item its first reviewer (control owner first): the reminders
    everyone: tuple  # every owner who may certify a pending item: the escalation
    security: int  # pending items only the security team may certify
    counts: dict  # person id → pending items that person may certify

    def for_person(self, user):
        return self.counts.get(user.pk, 0) if user is not None else self.security


def pending_items(campaign):
    return campaign.items.filter(outcome=ReviewOutcome.PENDING).select_related(*PENDING_ITEM_RELATED)


def campaign_deciders(campaign, items=None):
    """`CampaignDeciders` of `campaign`; `items` are its pending items if already loaded."""
    workflow = campaign.workflow
    first, counts, security = [], {}, 0
    for item in pending_items(campaign) if items is None else items:
        reviewers = item_reviewers(item, workflow)
        if not reviewers:
            security += 1
            continue
        if reviewers[0] not in first:
            first.append(reviewers[0])
        for person in reviewers:
            counts[person.pk] = counts.get(person.pk, 0) + 1
    everyone = tuple(o for o in workflow.owners if o.pk in counts)
    first = tuple(o for o in workflow.owners if o in first)
    return CampaignDeciders(first=first, everyone=everyone, security=security, counts=counts)
