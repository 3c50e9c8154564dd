"""Periodic jobs of the governance app. Thin wrappers: the work is in services."""

from celery import shared_task
from django.utils import timezone

from .evidence.checkpoints import sign_checkpoints
from .evidence.intake import seal_intake
from .evidence.stream import stream_to_configured_destination
from .evidence.verification import verify_chains
from .findings.services import recompute_findings as recompute
from .models import Heartbeat, Workflow
from .reviews.campaigns import open_due_campaigns
from .reviews.deadlines import enforce_review_deadlines as enforce
from .reviews.reminders import send_due_reminders


@shared_task(name="governance.heartbeat", ignore_result=True)
def heartbeat():
    """Record that a worker consumed a message; /healthz reads it."""
    Heartbeat.objects.update_or_create(name="worker", defaults={"seen_at": timezone.now()})


@shared_task(name="governance.recompute_findings", ignore_result=True)
def recompute_findings():
    """Recompute the stored findings from the live data (idempotent)."""
    return recompute()


@shared_task(name="governance.seal_evidence_intake", ignore_result=True)
def seal_evidence_intake():
    """Chain the evidence waiting in the intake into each workflow's hash chain."""
    return seal_intake()


@shared_task(name="governance.sign_evidence_checkpoints", ignore_result=True)
def sign_evidence_checkpoints():
    """Sign a checkpoint of every evidence chain whose head moved since its last one."""
    return sign_checkpoints()


@shared_task(name="governance.verify_evidence_chains", ignore_result=True)
def verify_evidence_chains():
    """Walk every evidence chain and remember the outcome; broken chains become findings."""
    results = verify_chains(Workflow.objects.filter(evidence_head__isnull=False).iterator())
    if any(not result.ok for result in results):
        recompute()
    return {"chains": len(results), "broken": sum(not r.ok for r in results)}


@shared_task(name="governance.open_due_reviews", ignore_result=True)
def open_due_reviews():
    """Open the access reviews that came due; remind their owners straight away."""
    summary = open_due_campaigns()
    if summary["opened"]:
        send_review_reminders.delay()
    return summary


@shared_task(name="governance.enforce_review_deadlines", ignore_result=True)
def enforce_review_deadlines():
    """Settle lapsed review items and apply each workflow's missed-deadline consequence."""
    return enforce()


@shared_task(name="governance.send_reminders", ignore_result=True)
def send_review_reminders():
    """Send the day's bundled reminders (reviews and waiting requests); safe to run any time."""
    return send_due_reminders()


@shared_task(name="governance.stream_ocsf_events", ignore_result=True)
def stream_ocsf_events():
    """Send sealed evidence not yet delivered to the SIEM (OCSF_STREAM_URL), as OCSF events."""

    return stream_to_configured_destination()
