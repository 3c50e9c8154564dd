"""A workflow's story: its change log (django-auditlog) and its evidence, merged in order.

Paged by keyset (a cursor naming the last entry shown), so page 1,000 costs what page 1
costs: each source is read from the cursor onwards through its own index, `limit + 1`
rows each, and the two short lists are merged. At equal timestamps change-log entries
come before evidence, then lower ids first.
"""

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime

from auditlog.models import LogEntry
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldError
from django.db.models import Q

from governance.exceptions import InvalidInput

from .models import EvidenceRecord

CHANGE, EVIDENCE = 0, 1
MAX_LIMIT = 200
# Models whose changes belong to a workflow's story, with the lookup from each to the
# workflow. Models not installed (yet) are skipped, so other parts can be listed here.
RELATED_MODELS = [
    ("governance.Policy", "workflow"),
    ("governance.Finding", "workflow"),
    ("identities.WorkloadIdentity", "workflow"),
    ("identities.ApiKey", "workload__workflow"),
    ("approvals.AccessRequest", "workflow"),
    ("approvals.Approval", "request__workflow"),
    ("approvals.Grant", "workflow"),
    ("governance.ReviewCampaign", "workflow"),
    ("governance.ReviewItem", "campaign__workflow"),
]
_ACTIONS = {LogEntry.Action.CREATE: "created", LogEntry.Action.UPDATE: "changed", LogEntry.Action.DELETE: "deleted"}


@dataclass
class TimelineEntry:
    at: datetime
    source: int
    pk: int
    title: str
    detail: str = ""
    actor: str = ""
    facts: dict = field(default_factory=dict)
    obj: object = None

    @property
    def is_evidence(self):
        return self.source == EVIDENCE

    @property
    def cursor(self):
        raw = f"{self.at.isoformat()}|{self.source}|{self.pk}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @property
    def sort_key(self):
        return (self.at, self.source, self.pk)


@dataclass
class TimelinePage:
    entries: list
    next_cursor: str | None
    newest_first: bool


def decode_cursor(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, source, pk = raw.split("|")
        return datetime.fromisoformat(at), int(source), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("The timeline cursor is not valid.", field_errors={"cursor": ["Not a valid cursor."]})


def related_log_entries(workflow):
    """django-auditlog entries of the workflow and of the objects that belong to it."""
    condition = Q(content_type=ContentType.objects.get_for_model(workflow), object_id=workflow.pk)
    for label, lookup in RELATED_MODELS:
        try:
            model = apps.get_model(label)
            ids = model._default_manager.filter(**{lookup: workflow}).values("pk")
        except (LookupError, FieldError):
            continue
        condition |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=ids)
    return LogEntry.objects.filter(condition)


def _after(cursor, source, at_field, newest_first):
    """Rows of `source` strictly after the cursor, in the page's direction."""
    at, cursor_source, pk = cursor
    later, same = ("lt", "lt") if newest_first else ("gt", "gt")
    beyond = Q(**{f"{at_field}__{later}": at})
    if source == cursor_source:
        return beyond | Q(**{at_field: at, f"pk__{same}": pk})
    # At the cursor's own timestamp, the other source sorts wholly before or after it.
    other_follows = (source > cursor_source) != newest_first
    return beyond | Q(**{at_field: at}) if other_follows else beyond


def _change_entry(entry):
    verb = _ACTIONS.get(entry.action, "accessed")
    model = entry.content_type.model_class()
    name = model._meta.verbose_name.capitalize() if model else entry.content_type.model
    detail = entry.changes_str if entry.action == LogEntry.Action.UPDATE else ""
    return TimelineEntry(
        at=entry.timestamp,
        source=CHANGE,
        pk=entry.pk,
        title=f"{name} “{entry.object_repr}” {verb}",
        detail=detail[:1000],
        actor=str(entry.actor) if entry.actor_id else "system",
        obj=entry,
    )


def _evidence_entry(record):
    facts = {
        "task": record.task_ref,
        "ticket": record.ticket_ref,
        "tool": record.tool_name,
        "target": record.target_resource,
        "classification": record.data_classification,
        "grant": f"#{record.grant_id}" if record.grant_id else "",
        "sequence": record.sequence,
    }
    outcome = f": {record.get_outcome_display().lower()}" if record.outcome else ""
    return TimelineEntry(
        at=record.occurred_at,
        source=EVIDENCE,
        pk=record.pk,
        title=f"{record.get_kind_display()}{outcome}",
        detail=record.summary,
        actor=record.subject_label,
        facts={k: v for k, v in facts.items() if v},
        obj=record,
    )


def workflow_timeline(workflow, *, cursor=None, limit=50, newest_first=False):
    """One page of the workflow's merged change log and evidence, oldest first by default.

    Pass the previous page's `next_cursor` to get the next page; `next_cursor` is None
    on the last page.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    position = decode_cursor(cursor) if cursor else None
    direction = "-" if newest_first else ""
    changes = related_log_entries(workflow).select_related("actor", "content_type")
    evidence = EvidenceRecord.objects.filter(workflow=workflow).select_related("workload", "on_behalf_of", "actor")
    if position:
        changes = changes.filter(_after(position, CHANGE, "timestamp", newest_first))
        evidence = evidence.filter(_after(position, EVIDENCE, "occurred_at", newest_first))
    changes = changes.order_by(f"{direction}timestamp", f"{direction}pk")[: limit + 1]
    evidence = evidence.order_by(f"{direction}occurred_at", f"{direction}pk")[: limit + 1]
    merged = sorted(
        [_change_entry(e) for e in changes] + [_evidence_entry(r) for r in evidence],
        key=lambda entry: entry.sort_key,
        reverse=newest_first,
    )
    page = merged[:limit]
    next_cursor = page[-1].cursor if len(merged) > limit else None
    return TimelinePage(entries=page, next_cursor=next_cursor, newest_first=newest_first)
