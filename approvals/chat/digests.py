"""Daily Slack notices, bundled like the reminder e-mails: at most one direct message per
person per day, holding what is due for them — their access that expires within a day,
the access reviews of their workflows that are due within three days or overdue, and the
requests waiting for their decision.

Only people with a linked Slack user who have not turned Slack messages off get one; the
(person, day) `ChatDigest` row is claimed before its outbox row is written, in the same
transaction, so a second run, a second beat or two workers never send a duplicate.
Nothing is sent before `CHAT_DIGEST_HOUR` (local time).
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from approvals.chat.delivery import SLACK_DIGEST
from approvals.chat.messages import digest_message
from approvals.chat.models import ChatDigest, SlackAccount
from approvals.choices import GrantStatus, RequestState
from approvals.models import AccessRequest, Grant
from approvals.queues.outbox import enqueue
from governance.choices import CampaignStatus
from governance.models import ReviewCampaign
from governance.reviews.models import review_overdue

EXPIRY_NOTICE = timedelta(hours=24)
REVIEW_NOTICE_DAYS = 3


def _url(obj):
    return f"{settings.SITE_URL}{obj.get_absolute_url()}"


def due_notices(person, now):
    """[(heading, [(label, url)])] of what is due for `person` now; empty sections left out."""
    mine = Q(requested_by=person) | Q(on_behalf_of=person) | Q(workload__owner=person)
    grants = (
        Grant.objects.filter(mine, status=GrantStatus.ACTIVE, expires_at__gt=now, expires_at__lte=now + EXPIRY_NOTICE)
        .select_related("entitlement", "workload", "requested_by", "on_behalf_of")
        .order_by("expires_at")
    )
    expiring = [
        (f"{g.entitlement.scope} for {g.subject_label}, until {timezone.localtime(g.expires_at):%d %b %H:%M}", _url(g))
        for g in grants
    ]
    horizon = now + timedelta(days=REVIEW_NOTICE_DAYS)
    campaigns = (
        ReviewCampaign.objects.filter(status=CampaignStatus.OPEN, due_at__lte=horizon)
        # The backup owner hears once it is overdue, by the one rule (`review_overdue`).
        .filter(Q(workflow__control_owner=person) | (Q(workflow__backup_owner=person) & review_overdue(now)))
        .select_related("workflow")
        .order_by("due_at")
    )
    reviews = []
    for c in campaigns:
        when = "overdue since" if c.is_overdue(now) else "due"
        reviews.append((f"{c.workflow}: {when} {timezone.localtime(c.due_at):%d %b}", _url(c)))
    waiting = (
        AccessRequest.objects.filter(state=RequestState.PENDING)
        .exclude(approvals__approver=person)
        .select_related("entitlement", "workload", "requested_by", "on_behalf_of")
        .order_by("created_at")
    )
    # Filtered here: a JSON containment lookup is not available on the embedded SQLite.
    requests = [
        (f"#{r.pk} {r.entitlement.scope} for {r.subject_label}", _url(r))
        for r in waiting
        if person.pk in (r.eligible_approver_ids or [])
    ]
    sections = [
        ("Your access that expires within a day", expiring),
        ("Access reviews due", reviews),
        ("Requests waiting for your decision", requests),
    ]
    return [(heading, items) for heading, items in sections if items]


def send_chat_digests(now=None):
    """Claim and queue today's Slack notices for everyone who has some. Returns a summary."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < settings.CHAT_DIGEST_HOUR:
        return {"claimed": 0, "too_early": True}
    today = local.date()
    accounts = (
        SlackAccount.objects.filter(connection__enabled=True, user__is_active=True)
        .exclude(user__notification_preference__slack_dm=False)
        .exclude(user__chat_digests__day=today)
        .select_related("user", "connection")
        .order_by("user_id", "connection_id")
    )
    claimed = 0
    for account in accounts:
        sections = due_notices(account.user, now)
        if not sections:
            continue
        text, blocks = digest_message(account.user.label, sections)
        try:
            with transaction.atomic():
                digest = ChatDigest.objects.create(
                    user=account.user, connection=account.connection, day=today, items=sections
                )
                enqueue(
                    SLACK_DIGEST,
                    {"digest_id": digest.pk, "text": text, "blocks": blocks},
                    key=f"{SLACK_DIGEST}:{digest.pk}",
                )
        except IntegrityError:
            continue  # claimed by a concurrent run, or through another workspace
        claimed += 1
    return {"claimed": claimed}
