"""Reminders for access reviews and for requests waiting on an approver.

Schedule of a review campaign (local dates, TIME_ZONE): the people who decide its pending
items hear when it opens, 3 days and 1 day before its due date and on the due date; once
it is overdue (`review_overdue`: its due moment has come, the same instant the API, the
dashboard, the report and the metrics call it overdue), every owner who may decide one of
them and the security contact are told so, again every week while it stays open. Who decides an item is the review's
own rule (`selectors.campaign_deciders`): the control owner first, the other owner for an
item about her, the security contact for an item no owner may certify; nobody is chased
about an item that is their own access. A request waiting longer than its policy's
reminder interval reminds each eligible approver who has not voted, once.

Whatever is due for one address is bundled into one e-mail, and an address gets at most
one e-mail a day: the (address, day) `ReminderDigest` row is claimed in the database
before anything is sent, and each reminder is logged once in `ReminderLog`, so a retry, a
second beat or two workers can never send a duplicate. A reminder that finds the day's
e-mail already claimed waits for the next day. A digest whose sending crashed half-way
is not sent again (the message may have left): at most once, never twice.

Each campaign reminder is also handed once to the workflow's ticket queue
(`governance.reviews.tickets`), in the same transaction as its log row.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from approvals.choices import RequestState
from approvals.models import AccessRequest, NotificationPreference
from governance.choices import (
    CampaignStatus,
    DigestStatus,
    MissedReviewAction,
    ReminderChannel,
    ReminderStage,
    ReviewOutcome,
)
from governance.models import Policy, ReminderDigest, ReminderLog, ReviewCampaign, ReviewItem
from governance.reviews.selectors import PENDING_ITEM_RELATED, campaign_deciders
from governance.reviews.tickets import queue_review_reminder
from identities.models import User

log = logging.getLogger(__name__)

ESCALATION_REPEAT_DAYS = 7
MAX_SEND_ATTEMPTS = 5


@dataclass
class DueReminder:
    email: str
    user: object = None
    campaign: ReviewCampaign = None
    stage: str = ""
    repeat: int = 0
    access_request: object = None


# ---------------------------------------------------------------- what is due


def campaign_stage(campaign, now):
    """(stage, repeat) of `campaign` at `now`. The escalation starts the moment the review
    is overdue by the one definition (`ReviewCampaign.is_overdue`, which the API, dashboard,
    report and metrics read too) and repeats every `ESCALATION_REPEAT_DAYS` after it;
    before that, reminders speak in local calendar days."""
    if campaign.is_overdue(now):
        return ReminderStage.OVERDUE, (now - campaign.due_at).days // ESCALATION_REPEAT_DAYS
    days_left = (timezone.localdate(campaign.due_at) - timezone.localdate(now)).days
    if days_left <= 0:
        return ReminderStage.DUE_TODAY, 0
    if days_left == 1:
        return ReminderStage.DUE_IN_1_DAY, 0
    if days_left <= 3:
        return ReminderStage.DUE_IN_3_DAYS, 0
    return ReminderStage.OPENED, 0


def _person(user):
    return (user.email.lower(), user) if user and user.is_active and user.email else None


def campaign_recipients(campaign, stage, deciders=None):
    """[(address, user or None)]: the first decider of each pending item (the security
    contact for an item no owner may certify); when overdue, every owner who may decide one
    and the security contact. Never an owner whose only pending items are her own access."""
    deciders = deciders or campaign_deciders(campaign)
    security = (settings.SECURITY_CONTACT_EMAIL.lower(), None) if settings.SECURITY_CONTACT_EMAIL else None
    if stage == ReminderStage.OVERDUE:
        people = [*map(_person, deciders.everyone), security]
    else:
        people = [*map(_person, deciders.first), security if deciders.security else None]
    seen, recipients = set(), []
    for person in people:
        if person and person[0] not in seen:
            seen.add(person[0])
            recipients.append(person)
    return recipients


def _reminder_interval(request, policies):
    seconds = (request.policy_snapshot or {}).get("reminder_interval_seconds")
    if not seconds:
        seconds = policies.get((request.workflow_id, request.entitlement_id))
    return timedelta(seconds=seconds) if seconds else None


def _waiting_requests(now):
    """Pending requests past their reminder interval, with the approvers still to vote."""
    shortest = Policy.objects.order_by("reminder_interval_seconds").values_list("reminder_interval_seconds", flat=True)
    first = shortest.first()
    if first is None:
        return []
    requests = list(
        AccessRequest.objects.filter(state=RequestState.PENDING, created_at__lte=now - timedelta(seconds=first))
        .select_related("workflow", "entitlement")
        .prefetch_related("approvals")
    )
    policies = {
        (p.workflow_id, p.entitlement_id): p.reminder_interval_seconds
        for p in Policy.objects.filter(workflow__in={r.workflow_id for r in requests})
    }
    approver_ids = {pk for r in requests for pk in r.eligible_approver_ids or []}
    approvers = User.objects.in_bulk(approver_ids)
    waiting = []
    for request in requests:
        interval = _reminder_interval(request, policies)
        if interval is None or request.created_at + interval > now:
            continue
        voted = {a.approver_id for a in request.approvals.all()}
        people = [_person(approvers.get(pk)) for pk in request.eligible_approver_ids or [] if pk not in voted]
        waiting.append((request, [p for p in people if p]))
    return waiting


def due_reminders(now):
    """Every reminder due now and not given before: ({address: [DueReminder]}, [ticket DueReminder])."""
    given = set(
        ReminderLog.objects.filter(campaign__status=CampaignStatus.OPEN).values_list(
            "campaign_id", "stage", "repeat", "channel", "recipient_email"
        )
    )
    due, tickets = defaultdict(list), []
    pending = ReviewItem.objects.filter(outcome=ReviewOutcome.PENDING).select_related(*PENDING_ITEM_RELATED)
    campaigns = (
        ReviewCampaign.objects.filter(status=CampaignStatus.OPEN)
        .select_related("workflow__control_owner", "workflow__backup_owner")
        .prefetch_related(Prefetch("items", queryset=pending, to_attr="pending_items"))
    )
    for campaign in campaigns:
        stage, repeat = campaign_stage(campaign, now)
        if (campaign.pk, stage, repeat, ReminderChannel.TICKET, "") not in given:
            tickets.append(DueReminder("", campaign=campaign, stage=stage, repeat=repeat))
        deciders = campaign_deciders(campaign, campaign.pending_items)
        for email, user in campaign_recipients(campaign, stage, deciders):
            if (campaign.pk, stage, repeat, ReminderChannel.EMAIL, email) not in given:
                due[email].append(DueReminder(email, user, campaign=campaign, stage=stage, repeat=repeat))
    reminded = set(
        ReminderLog.objects.filter(access_request__state="pending").values_list("access_request_id", "recipient_email")
    )
    for request, approvers in _waiting_requests(now):
        for email, user in approvers:
            if (request.pk, email) not in reminded:
                due[email].append(DueReminder(email, user, access_request=request))
    # People who turned reminder e-mails off on their notifications page.
    opted_out = NotificationPreference.objects.filter(email=False).values_list("user__email", flat=True)
    for email in {e.lower() for e in opted_out if e}:
        due.pop(email, None)
    return due, tickets


# ---------------------------------------------------------------- the ticket-queue hook


def hand_to_ticket_queue(reminder, now):
    """Log a campaign's reminder for the ticket queue once and queue it there in the same
    transaction, so the outbox row and the log commit together.
    Returns whether this call handed it over."""
    campaign, stage, repeat = reminder.campaign, reminder.stage, reminder.repeat
    today = timezone.localdate(now)
    context = {"campaign": _campaign_context(campaign, stage, today), "site_url": settings.SITE_URL}
    with transaction.atomic():
        try:
            with transaction.atomic():
                ReminderLog.objects.create(
                    channel=ReminderChannel.TICKET, campaign=campaign, stage=stage, repeat=repeat
                )
        except IntegrityError:
            return False  # handed over by a concurrent run
        queue_review_reminder(
            campaign,
            stage=stage,
            repeat=repeat,
            subject=f"Access review of {campaign.workflow}: {context['campaign']['headline']}",
            body=render_to_string("governance/email/review_ticket.txt", context).strip(),
            url=context["campaign"]["url"],
        )
    return True


# ---------------------------------------------------------------- claiming and sending


def claim_digests(due, now):
    """Claim today's digest for each address with reminders due; return the new digests' ids.

    An address whose digest for today exists already keeps its reminders for tomorrow.
    """
    today = timezone.localdate(now)
    claimed = []
    for email, reminders in sorted(due.items()):
        with transaction.atomic():
            user = next((r.user for r in reminders if r.user is not None), None)
            digest, created = ReminderDigest.objects.get_or_create(
                recipient_email=email, day=today, defaults={"user": user}
            )
            if not created:
                continue
            logged = 0
            for reminder in reminders:
                try:
                    with transaction.atomic():
                        ReminderLog.objects.create(
                            channel=ReminderChannel.EMAIL,
                            recipient_email=email,
                            digest=digest,
                            campaign=reminder.campaign,
                            stage=reminder.stage,
                            repeat=reminder.repeat,
                            access_request=reminder.access_request,
                        )
                    logged += 1
                except IntegrityError:
                    continue  # logged by a concurrent run
            if logged:
                claimed.append(digest.pk)
            else:
                digest.delete()
    return claimed


def deliver_digest(digest_id, *, now=None):
    """Send one claimed digest. Returns its final status.

    The row moves to `sending` in its own committed update before the message goes out, so
    a crash mid-send leaves it there and it is never sent twice.
    """
    now = now or timezone.now()
    claimed = ReminderDigest.objects.filter(
        pk=digest_id, status__in=[DigestStatus.PENDING, DigestStatus.FAILED], attempts__lt=MAX_SEND_ATTEMPTS
    ).update(status=DigestStatus.SENDING, attempts=F("attempts") + 1)
    digest = ReminderDigest.objects.filter(pk=digest_id).first()
    if digest is None or not claimed:
        return digest.status if digest else None
    context = digest_context(digest, now)
    if not (context["campaigns"] or context["requests"]):
        digest.status = DigestStatus.SKIPPED
        digest.save(update_fields=["status"])
        return digest.status
    message = EmailMultiAlternatives(
        subject=" ".join(render_to_string("governance/email/reminders_subject.txt", context).split()),
        body=render_to_string("governance/email/reminders.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[digest.recipient_email],
    )
    message.attach_alternative(render_to_string("governance/email/reminders.html", context), "text/html")
    try:
        message.send()
    except Exception as exc:
        gave_up = digest.attempts >= MAX_SEND_ATTEMPTS
        digest.status = DigestStatus.GAVE_UP if gave_up else DigestStatus.FAILED
        digest.last_error = f"{type(exc).__name__}: {exc}"[:500]
        digest.save(update_fields=["status", "last_error"])
        log.warning("Reminder e-mail %s to %s failed: %s", digest.pk, digest.recipient_email, digest.last_error)
        return digest.status
    digest.status = DigestStatus.SENT
    digest.sent_at = timezone.now()
    digest.save(update_fields=["status", "sent_at"])
    return digest.status


def send_due_reminders(now=None):
    """Log and send every reminder due now; retry today's unsent digests. Returns counts."""
    now = now or timezone.now()
    due, tickets = due_reminders(now)
    handed = sum(hand_to_ticket_queue(reminder, now) for reminder in tickets)
    claimed = claim_digests(due, now)
    # Also today's digests that another run claimed but did not get to send, and failures.
    # `deliver_digest` claims each row for sending atomically, so overlap is harmless.
    unsent = ReminderDigest.objects.filter(
        day=timezone.localdate(now),
        status__in=[DigestStatus.PENDING, DigestStatus.FAILED],
        attempts__lt=MAX_SEND_ATTEMPTS,
    ).values_list("pk", flat=True)
    summary = defaultdict(int)
    for digest_id in sorted({*claimed, *unsent}):
        summary[deliver_digest(digest_id, now=now)] += 1
    return {"ticket_reminders": handed, "claimed": len(claimed), **{str(k): v for k, v in summary.items()}}


# ---------------------------------------------------------------- what the message says


def _absolute(path):
    return f"{settings.SITE_URL}{path}"


def _request_url(request):
    try:
        return _absolute(request.get_absolute_url())
    except NoReverseMatch:
        return _absolute(reverse("admin:approvals_accessrequest_change", args=[request.pk]))


def _campaign_context(campaign, stage, today, recipient_email="", for_you=None):
    workflow = campaign.workflow
    due_day = timezone.localdate(campaign.due_at)
    days_left = (due_day - today).days
    decided, total = campaign.progress()
    if stage == ReminderStage.OVERDUE:
        headline = f"overdue since {due_day:%d %b %Y}"
    elif days_left <= 0:
        headline = "due today"
    elif days_left == 1:
        headline = "due tomorrow"
    else:
        headline = f"due in {days_left} days ({due_day:%d %b %Y})"
    owner = workflow.control_owner
    return {
        "workflow": str(workflow),
        "stage": stage,
        "opened": stage == ReminderStage.OPENED,
        "overdue": stage == ReminderStage.OVERDUE,
        "headline": headline,
        "due_at": campaign.due_at,
        "decided": decided,
        "total": total,
        "remaining": total - decided,
        # Fewer than remaining when some items are about this person (someone else decides them).
        "for_you": total - decided if for_you is None else for_you,
        "owner": owner.label if owner else "nobody",
        "escalated_to_you": stage == ReminderStage.OVERDUE
        and (not owner or owner.email.lower() != recipient_email)
        and bool(recipient_email),
        "consequence": MissedReviewAction(workflow.missed_review_action).label,
        "consequence_applied": campaign.deadline_missed_at is not None,
        "url": _absolute(campaign.get_absolute_url()),
    }


def digest_context(digest, now):
    """Template context of one digest, leaving out what was settled since it was claimed."""
    today = timezone.localdate(now)
    campaigns, requests = [], []
    reminders = digest.reminders.select_related(
        "campaign__workflow__control_owner",
        "access_request__workflow",
        "access_request__entitlement",
        "access_request__requested_by",
        "access_request__workload",
        "access_request__on_behalf_of",
    ).order_by("campaign__due_at", "access_request__created_at")
    for reminder in reminders:
        if reminder.campaign_id and reminder.campaign.is_open:
            for_you = campaign_deciders(reminder.campaign).for_person(digest.user)
            campaigns.append(
                _campaign_context(reminder.campaign, reminder.stage, today, digest.recipient_email, for_you)
            )
        elif reminder.access_request_id and reminder.access_request.state == "pending":
            request = reminder.access_request
            requests.append(
                {
                    "label": f"{request.entitlement.scope} for {request.subject_label}",
                    "workflow": str(request.workflow),
                    "task_ref": request.task_ref,
                    "waiting_since": request.created_at,
                    "pending_until": request.pending_until,
                    "url": _request_url(request),
                }
            )
    name = str(digest.user) if digest.user else ""
    return {"name": name, "campaigns": campaigns, "requests": requests, "site_url": settings.SITE_URL}
