"""Celery tasks of the outbox relay and the ticket-queue poller. Thin: the work is elsewhere.

Imported by `ApprovalsConfig.ready` (so workers register them whatever module
autodiscovery picks up). Both are safe to run twice and concurrently.
"""

from celery import shared_task

from approvals.queues.decisions import poll_queues
from approvals.queues.outbox import RELAY_TASK, relay


@shared_task(name=RELAY_TASK, ignore_result=True)
def relay_outbox(limit=50):
    """Deliver due outbox rows (ticket opens, comments, closes); returns a summary."""
    return relay(limit=limit)


@shared_task(name="approvals.poll_ticket_queues", ignore_result=True)
def poll_ticket_queues():
    """Re-read open tickets of each queue whose polling interval has passed."""
    return poll_queues()
