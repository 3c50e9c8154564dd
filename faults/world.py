"""What the scenarios share: the processes, the peers and the callers' keys."""

import time
from dataclasses import dataclass, field
from pathlib import Path

WORKFLOW, SCOPE = "incident-enrichment", "jira:incident:read"
CODER, CODER_SCOPE, CODER_WORKFLOW = "pr-coding-agent", "github:repo:write", "pr-coding-agent"
# The demo queue's webhook secret (MANDATE_DEMO_RT_WEBHOOK_SECRET) during the run.
RT_WEBHOOK_SECRET = "faults-rt-webhook-secret"


@dataclass
class World:
    quick: bool
    out_dir: Path
    pg: object
    redis: object
    stack: object
    proxy: object = None
    rt: object = None
    keys: dict = field(default_factory=dict)

    @property
    def base(self):
        return self.stack.base

    def scale(self, quick, full):
        return quick if self.quick else full


def issue_keys():
    """API keys for the two demo agents: one auto-approved, one whose writes need Bruno."""
    from identities.models import WorkloadIdentity
    from identities.services import issue_api_key

    keys = {}
    for slug in ("incident-enricher", CODER):
        _, keys[slug] = issue_api_key(workload=WorkloadIdentity.objects.get(slug=slug), name="faults")
    return keys


def set_interval(task, seconds):
    """Run a periodic job more often than in production, so a scenario sees a few rounds."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task=task).update(interval=every)
    PeriodicTasks.update_changed()


def wait_until(predicate, timeout, step=0.5):
    """True as soon as `predicate()` is; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
