"""Wiring done once at start-up: change logging and the periodic schedule."""

from auditlog.registry import auditlog
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .models import Entitlement, Finding, Policy, Workflow
from .schedule import sync_periodic_jobs

auditlog.register(Workflow)
auditlog.register(Entitlement)
auditlog.register(Policy)
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
