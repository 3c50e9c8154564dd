"""Celery tasks of the approvals app: thin wrappers around services, safe to run twice."""

from celery import shared_task

from . import services
from .services.grants import EXPIRE_GRANT_TASK


@shared_task(name=EXPIRE_GRANT_TASK, ignore_result=True)
def expire_grant(grant_id):
    """ETA task scheduled for a grant's expires_at; a no-op if it was extended or ended."""
    services.expire_grant(grant_id)


@shared_task(name="approvals.expire_due_grants", ignore_result=True)
def expire_due_grants():
    """The sweeper: ends whatever the ETA tasks missed (lost message, restarted worker)."""
    return services.expire_due_grants()


@shared_task(name="approvals.time_out_pending_requests", ignore_result=True)
def time_out_pending_requests():
    return services.time_out_pending_requests()
