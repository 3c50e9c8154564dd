"""Wiring done once at start-up (change logging, the periodic schedule) and the domain
events of access reviews.

Review events are sent by the services in `governance.reviews` and
`governance.reminders` *inside* their transaction, with `sender=ReviewCampaign`, so what a
receiver writes (an outbox row for the ticket queue, an evidence record) commits or rolls
back with the change. Receivers must not do slow I/O. Keyword arguments:
- `campaign_opened`: campaign
- `review_item_decided`: campaign, item, by (None when Mandate decided)
- `review_deadline_missed`: campaign, action (MissedReviewAction)
- `campaign_closed`: campaign
- `review_reminder_due`: campaign, stage (ReminderStage), repeat (int), subject (str),
  body (plain text), url (absolute link to the campaign page), recipients (e-mail
  addresses the same reminder goes to). Sent once per campaign, stage and repeat: the
  hook for putting the reminder into the workflow's ticket queue.
"""

from auditlog.registry import auditlog
from django.db.models.signals import post_migrate
from django.dispatch import Signal, receiver

from .models import (
    Entitlement,
    Finding,
    Policy,
    ReminderDigest,
    ReminderLog,
    ReviewCampaign,
    ReviewItem,
    Workflow,
)
from .schedule import sync_periodic_jobs

campaign_opened = Signal()
review_item_decided = Signal()
review_deadline_missed = Signal()
campaign_closed = Signal()
review_reminder_due = Signal()

auditlog.register(Workflow)
auditlog.register(Entitlement)
auditlog.register(Policy)
auditlog.register(ReviewCampaign)
auditlog.register(ReviewItem)
auditlog.register(ReminderDigest, exclude_fields=["last_error"])
auditlog.register(ReminderLog)
# A finding's opening and resolution are logged; the periodic "still there" touch is not.
auditlog.register(Finding, exclude_fields=["last_seen_at", "detail"])
# EvidenceRecord is not registered: it is itself the append-only record, and logging each
# insert again would double every event on the timeline. Its chain head is derived state.


@receiver(post_migrate)
def create_periodic_jobs(sender, app_config=None, using="default", **kwargs):
    # post_migrate fires once per app; act on the last one of ours so every table exists.
    if app_config is None or app_config.label != "governance":
        return
    sync_periodic_jobs(using=using)
