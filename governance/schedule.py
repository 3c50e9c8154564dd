"""The periodic jobs, kept in django-celery-beat's database schedule.

The rows are created (or corrected) after every `migrate`, so operators can see them in
the admin and change their interval; a job whose interval an operator changed keeps it.
Add a job here, not in a migration.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every_seconds: int
    description: str = ""


PERIODIC_JOBS = [
    PeriodicJob(
        "Worker heartbeat",
        "governance.heartbeat",
        30,
        "Proves that beat, the broker and a worker are all alive; read by /healthz.",
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
]


def sync_periodic_jobs(jobs=None, using="default"):
    """Create the database schedule rows for `jobs`, leaving operators' interval changes."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for job in jobs or PERIODIC_JOBS:
        if PeriodicTask.objects.using(using).filter(name=job.name).exists():
            PeriodicTask.objects.using(using).filter(name=job.name).exclude(task=job.task).update(task=job.task)
            continue
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(
            every=job.every_seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.using(using).create(
            name=job.name, task=job.task, interval=interval, description=job.description
        )
