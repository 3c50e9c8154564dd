"""A workflow's story: its change log (django-auditlog) and its evidence, merged in order.

Paged by keyset: a cursor names the last entry shown, each source is read from there on
through its own index (`limit + 1` rows each) and the two short lists are merged, so page
1,000 costs what page 1 costs. Entries are ordered by time, then change log before
evidence at the same instant, then id; newest first by default.
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

from governance.evidence.intake import seal_intake
from governance.exceptions import InvalidInput
from governance.models import EvidenceRecord

CHANGE, EVIDENCE = "change", "evidence"
_RANK = {CHANGE: 0, EVIDENCE: 1}
MAX_LIMIT = 200
ACTION_VERBS = {
    LogEntry.Action.CREATE: "created",
    LogEntry.Action.UPDATE: "changed",
    LogEntry.Action.DELETE: "deleted",
    LogEntry.Action.ACCESS: "viewed",
}
# Fields whose values mean nothing to a reader of the timeline.
NOISE_FIELDS = {"updated_at", "created_at", "id", "last_seen_at"}
# Models whose changes belong to a workflow's story, with the lookup from each to the
# workflow. A model not installed is skipped, so parts can be listed before they exist.
RELATED_MODELS = [
    ("governance.Policy", "workflow"),
    ("governance.Finding", "workflow"),
    ("governance.ReviewCampaign", "workflow"),
    ("governance.ReviewItem", "campaign__workflow"),
    ("identities.WorkloadIdentity", "workflow"),
    ("identities.ApiKey", "workload__workflow"),
    ("approvals.AccessRequest", "workflow"),
    ("approvals.Approval", "request__workflow"),
    ("approvals.Grant", "workflow"),
]


@dataclass
class TimelineEntry:
    """One line of a workflow's timeline, whatever its source."""

    at: datetime
    source: str  # CHANGE (django-auditlog) or EVIDENCE
    pk: int
    kind: str  # model name or evidence kind, e.g. "grant", "tool_call"
    summary: str
    actor: str = ""
    changes: list = field(default_factory=list)  # [(field, old, new)] for a change
    detail: str = ""  # an evidence record's redacted summary
    facts: dict = field(default_factory=dict)  # an evidence record's task, tool, target…
    url: str = ""

    @property
    def is_evidence(self):
        return self.source == EVIDENCE

    @property
    def sort_key(self):
        return (self.at, _RANK[self.source], self.pk)

    @property
    def cursor(self):
        raw = f"{self.at.isoformat()}|{_RANK[self.source]}|{self.pk}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@dataclass
class TimelinePage:
    entries: list
    next_cursor: str | None
    newest_first: bool


def decode_cursor(cursor):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, rank, pk = raw.split("|")
        return datetime.fromisoformat(at), int(rank), int(pk)
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
            model_field = model._meta.get_field(name) if model else None
        except Exception:  # a field removed since the entry was written
            model_field = None
        if model_field is not None and (model_field.one_to_many or model_field.many_to_many):
            continue
        label = name.replace("_", " ")
        if model_field is not None and model_field.is_relation:
            # Logged as ids; named for the whole page at once by _name_related.
            related = model_field.related_model
            changes.append((label, RelatedId(related, values[0]), RelatedId(related, values[1])))
        else:
            changes.append((label, _display(values[0]), _display(values[1])))
    return changes


@dataclass(frozen=True)
class RelatedId:
    """A related object as django-auditlog logged it (its id), until it is named."""

    model: type
    value: object


def _name_related(entries):
    """Replace every RelatedId on the page with the object's name: one query per related model."""
    wanted = {}
    for entry in entries:
        for _label, *values in entry.changes:
            for value in values:
                if isinstance(value, RelatedId) and value.value not in (None, "None", ""):
                    wanted.setdefault(value.model, set()).add(str(value.value))
    names = {}
    for model, ids in wanted.items():
        pks = [int(i) if i.isdigit() else i for i in ids]
        names.update({(model, str(pk)): str(obj) for pk, obj in model._default_manager.in_bulk(pks).items()})

    def name(value):
        if not isinstance(value, RelatedId):
            return value
        if value.value in (None, "None", ""):
            return "—"
        return names.get((value.model, str(value.value)), f"#{value.value}")

    for entry in entries:
        entry.changes = [(label, name(old), name(new)) for label, old, new in entry.changes]


def _change_entry(log):
    model = log.content_type.model_class()
    kind = str(model._meta.verbose_name if model else log.content_type.model)
    return TimelineEntry(
        at=log.timestamp,
        source=CHANGE,
        pk=log.pk,
        kind=kind,
        summary=f"{kind.capitalize()} “{log.object_repr}” {ACTION_VERBS.get(log.action, 'changed')}",
        actor=str(log.actor) if log.actor_id else "system",
        changes=_changes(log, model),
    )


def _evidence_entry(record):
    facts = {
        "task": record.task_ref,
        "ticket": record.ticket_ref,
        "tool": record.tool_name,
        "target": record.target_resource,
        "data": record.data_classification,
        "grant": f"#{record.grant_id}" if record.grant_id else "",
        "chain": f"#{record.sequence}",
    }
    outcome = f": {record.get_outcome_display().lower()}" if record.outcome else ""
    return TimelineEntry(
        at=record.occurred_at,
        source=EVIDENCE,
        pk=record.pk,
        kind=record.kind,
        summary=f"{record.get_kind_display()}{outcome}",
        actor=record.subject_label,
        detail=record.summary,
        facts={name: value for name, value in facts.items() if value},
    )


def _after(cursor, source, at_field, newest_first):
    """Rows of `source` strictly beyond the cursor, in the page's direction."""
    at, cursor_rank, pk = cursor
    rank = _RANK[source]
    beyond = Q(**{f"{at_field}__{'lt' if newest_first else 'gt'}": at})
    if rank == cursor_rank:
        return beyond | Q(**{at_field: at, f"pk__{'lt' if newest_first else 'gt'}": pk})
    # At the cursor's own instant the other source sorts wholly before or after it.
    other_follows = (rank > cursor_rank) != newest_first
    return beyond | Q(**{at_field: at}) if other_follows else beyond


def workflow_timeline(workflow, *, cursor=None, limit=50, newest_first=True):
    """One page of the workflow's merged change log and evidence.

    Pass the previous page's `next_cursor` for the next page; it is None on the last one.
    Raises InvalidInput for a cursor that is not one of ours.
    """
    seal_intake(workflow.pk)  # decisions still in the intake belong on the timeline too
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
        [_change_entry(log) for log in changes] + [_evidence_entry(record) for record in evidence],
        key=lambda entry: entry.sort_key,
        reverse=newest_first,
    )
    page = merged[:limit]
    _name_related(page)
    return TimelinePage(page, page[-1].cursor if len(merged) > limit else None, newest_first)
