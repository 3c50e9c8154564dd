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


def _display(value):
    if value in (None, "None", ""):
        return "—"
    text = str(value)
    # Timestamps are logged with microseconds; minutes are what a reader needs.
    if len(text) >= 19 and text[4] == "-" and text[10] in " T":
        return text[:16].replace("T", " ")
    return text


def _changes(log, model):
    """(field, old, new) for an update; a creation lists nothing (the summary says it all).

    Related objects are logged by id: the line says which relation changed, not the ids.
    """
    if log.action != LogEntry.Action.UPDATE or not isinstance(log.changes, dict):
        return []
    changes = []
    for name, values in log.changes.items():
        if name in NOISE_FIELDS or not isinstance(values, list) or len(values) != 2:
            continue
        try:
            field = model._meta.get_field(name) if model else None
        except Exception:  # a field removed since the entry was written
            field = None
        if field is not None and (field.one_to_many or field.many_to_many):
            continue
        label = name.replace("_", " ")
        if field is not None and field.is_relation:
            changes.append((label, "", "changed"))
        else:
            changes.append((label, _display(values[0]), _display(values[1])))
    return changes


def _entry(log):
    model = log.content_type.model_class()
    kind = str(model._meta.verbose_name if model else log.content_type.model)
    return TimelineEntry(
        at=log.timestamp,
        source="change",
        kind=kind,
        summary=f"{kind.capitalize()} “{log.object_repr}” {ACTION_VERBS.get(log.action, 'changed')}",
        actor=str(log.actor) if log.actor_id else "system",
        changes=_changes(log, model),
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
