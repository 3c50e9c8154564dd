"""A workflow's timeline: every recorded change to it and to what belongs to it, newest first.

Sources are read with the same keyset cursor (`before`, a datetime) so several sources —
the change log here, runtime evidence later — can be merged page by page: take `limit`
entries older than the cursor from each, merge, keep the newest `limit`.
"""

from dataclasses import dataclass, field
from datetime import datetime

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

ACTION_VERBS = {
    LogEntry.Action.CREATE: "created",
    LogEntry.Action.UPDATE: "changed",
    LogEntry.Action.DELETE: "deleted",
    LogEntry.Action.ACCESS: "viewed",
}
# Fields whose values mean nothing to a reader of the timeline.
NOISE_FIELDS = {"updated_at", "created_at", "id"}


@dataclass
class TimelineEntry:
    """One line of a workflow's timeline, whatever its source."""

    at: datetime
    source: str  # "change" (django-auditlog) or "evidence"
    kind: str  # model name or evidence kind, e.g. "grant", "tool_call"
    summary: str
    actor: str = ""
    changes: list = field(default_factory=list)  # [(field, old, new)]
    url: str = ""


def _related_filter(workflow):
    from approvals.models import AccessRequest, Approval, Grant
    from governance.models import Policy, Workflow
    from identities.models import WorkloadIdentity

    types = ContentType.objects.get_for_models(Workflow, Policy, WorkloadIdentity, AccessRequest, Approval, Grant)

    def of(model, queryset):
        return Q(content_type=types[model], object_id__in=queryset.values("pk"))

    return (
        Q(content_type=types[Workflow], object_id=workflow.pk)
        | of(Policy, Policy.objects.filter(workflow=workflow))
        | of(WorkloadIdentity, WorkloadIdentity.objects.filter(workflow=workflow))
        | of(AccessRequest, AccessRequest.objects.filter(workflow=workflow))
        | of(Approval, Approval.objects.filter(request__workflow=workflow))
        | of(Grant, Grant.objects.filter(workflow=workflow))
    )


def _entry(log):
    changes = []
    for name, values in (log.changes or {}).items() if isinstance(log.changes, dict) else []:
        if name in NOISE_FIELDS or not isinstance(values, list) or len(values) != 2:
            continue
        changes.append((name.replace("_", " "), values[0], values[1]))
    model = log.content_type.model_class()
    kind = model._meta.verbose_name if model else log.content_type.model
    return TimelineEntry(
        at=log.timestamp,
        source="change",
        kind=str(kind),
        summary=f"{str(kind).capitalize()} “{log.object_repr}” {ACTION_VERBS.get(log.action, 'changed')}",
        actor=str(log.actor) if log.actor_id else "system",
        changes=changes,
    )


def change_log_entries(workflow, *, before=None, limit=50):
    """The django-auditlog entries of the workflow and its policies, workloads, requests,
    approvals and grants, newest first, older than `before`."""
    logs = LogEntry.objects.filter(_related_filter(workflow)).select_related("actor", "content_type")
    if before is not None:
        logs = logs.filter(timestamp__lt=before)
    return [_entry(log) for log in logs.order_by("-timestamp", "-pk")[:limit]]


def workflow_timeline(workflow, *, before=None, limit=50):
    """The merged timeline page. Other sources (runtime evidence) join here."""
    entries = change_log_entries(workflow, before=before, limit=limit)
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
