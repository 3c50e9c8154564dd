"""The periodic jobs, kept in django-celery-beat's database schedule.

The rows are created (or corrected) after every `migrate`, so operators can see them in
the admin and change their interval; a job whose interval an operator changed keeps it.
Add a job here, not in a migration.
"""

from dataclasses import dataclass

from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every_seconds: int
    description: str = ""
    # Name of a boolean setting; the job is enabled only while it is true.
    enabled_setting: str = ""

    @property
    def enabled(self):
        return not self.enabled_setting or bool(getattr(settings, self.enabled_setting, False))


PERIODIC_JOBS = [
    PeriodicJob(
        "Worker heartbeat",
        "governance.heartbeat",
        30,
        "Proves that beat, the broker and a worker are all alive; read by /healthz.",
    ),
    PeriodicJob(
        "Seal evidence intake",
        "governance.seal_evidence_intake",
        1,
        "Sequencer: chains recorded authorization decisions into each workflow's evidence hash chain.",
    ),
    PeriodicJob(
        "Sign evidence checkpoints",
        "governance.sign_evidence_checkpoints",
        60,
        "Signs the head of every evidence chain that moved (Ed25519, key outside the database) "
        "and copies it to the checkpoint file.",
    ),
    PeriodicJob(
        "Expire due grants",
        "approvals.expire_due_grants",
        60,
        "Sweeper: ends every grant past its expiry that the per-grant ETA task missed.",
    ),
    PeriodicJob(
        "Time out pending requests",
        "approvals.time_out_pending_requests",
        60,
        "Closes requests left undecided past their policy's pending TTL.",
    ),
    PeriodicJob(
        "Open due access reviews",
        "governance.open_due_reviews",
        15 * 60,
        "Opens a review campaign for each workflow whose review cycle comes due (REVIEW_NOTICE_DAYS ahead).",
    ),
    PeriodicJob(
        "Enforce access review deadlines",
        "governance.enforce_review_deadlines",
        5 * 60,
        "Applies each workflow's missed-deadline setting (escalate, revoke, suspend) and settles lapsed items.",
    ),
    PeriodicJob(
        "Send reminders",
        "governance.send_reminders",
        30 * 60,
        "Review and pending-request reminders, bundled: at most one e-mail per person per day.",
    ),
    PeriodicJob(
        "Send Slack notices",
        "approvals.send_chat_digests",
        30 * 60,
        "Expiring access, reviews due and requests waiting, bundled: at most one Slack message per person per day.",
    ),
    PeriodicJob(
        "LDAP directory sync",
        "identities.sync_ldap",
        3600,
        "Imports joiners, movers and leavers from the LDAP directory (LDAP_SYNC_* settings).",
        enabled_setting="LDAP_SYNC_ENABLED",
    ),
    PeriodicJob(
        "Outbox relay",
        "approvals.relay_outbox",
        30,
        "Delivers ticket opens, comments and closes written by state changes; retries with backoff.",
    ),
    PeriodicJob(
        "Ticket queue polling",
        "approvals.poll_ticket_queues",
        30,
        "Re-reads open tickets of each queue once its own polling interval has passed.",
    ),
    PeriodicJob(
        "Recompute findings",
        "governance.recompute_findings",
        3600,
        "Standing privilege, shared principals, ownerless workflows, overdue reviews, unused workloads…",
    ),
    PeriodicJob(
        "Stream OCSF events",
        "governance.stream_ocsf_events",
        30,
        "Sends sealed evidence to the SIEM as OCSF events (OCSF_STREAM_URL), resuming where it stopped.",
        enabled_setting="OCSF_STREAM_ENABLED",
    ),
    PeriodicJob(
        "Verify evidence chains",
        "governance.verify_evidence_chains",
        24 * 3600,
        "Walks every workflow's evidence hash chain; a broken chain becomes a critical finding.",
    ),
]


def sync_periodic_jobs(jobs=None, using="default"):
    """Create the database schedule rows for `jobs`, leaving operators' interval changes.

    A job that depends on configuration is switched on or off to match it at every run.
    """

    for job in jobs or PERIODIC_JOBS:
        if PeriodicTask.objects.using(using).filter(name=job.name).exists():
            PeriodicTask.objects.using(using).filter(name=job.name).exclude(task=job.task).update(task=job.task)
            if job.enabled_setting:
                PeriodicTask.objects.using(using).filter(name=job.name).exclude(enabled=job.enabled).update(
                    enabled=job.enabled
                )
            continue
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=job.every_seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.using(using).create(
            name=job.name, task=job.task, interval=interval, description=job.description, enabled=job.enabled
        )
