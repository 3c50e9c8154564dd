"""Periodic jobs of the governance app. Thin wrappers: the work is in services."""

from celery import shared_task
from django.utils import timezone

from .models import Heartbeat


@shared_task(name="governance.heartbeat", ignore_result=True)
def heartbeat():
    """Record that a worker consumed a message; /healthz reads it."""
    Heartbeat.objects.update_or_create(name="worker", defaults={"seen_at": timezone.now()})
