"""Streamed evidence exports (CSV, JSON, JSON Lines) that verify offline.

Rows come from the database through `.iterator(chunk_size=…)` (a server-side cursor on
PostgreSQL) and leave as soon as they are encoded, so memory stays flat however many
records a workflow holds. Each record carries its hashed fields, `record_hash` and, when
stored, `raw_payload`; `governance/verify_export.py` checks an export without Django.
A JSON export also carries the signed checkpoints that fall inside it (`checkpoints`).
"""

import csv
import json

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from governance.exceptions import InvalidInput
from governance.verify_export import HASHED_FIELDS

from .checkpoints import as_dict
from .models import EvidenceCheckpoint, EvidenceRecord
from .verification import VERIFY_FIELDS, export_record

CHUNK_SIZE = 2000
FORMATS = {
    "jsonl": "application/x-ndjson; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
LABELS = {
    "workflow__slug": "workflow",
    "workload__slug": "workload",
    "on_behalf_of__username": "on_behalf_of",
    "actor__username": "actor",
}
CSV_COLUMNS = ["id", *HASHED_FIELDS, "record_hash", "raw_payload", *LABELS.values()]
# A spreadsheet runs a cell starting with one of these as a formula. CSV cells that start
# with one (or with the escape itself) get a leading apostrophe, which the verifier removes.
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def export_queryset(workflows, *, since=None, until=None):
    """The records of `workflows` recorded in [since, until), in chain order.

    The range is on `recorded_at`, which never decreases along a chain, so the export of
    a range is one contiguous piece of each chain.
    """
    records = EvidenceRecord.objects.filter(workflow__in=workflows)
    if since:
        records = records.filter(recorded_at__gte=since)
    if until:
        records = records.filter(recorded_at__lt=until)
    return records.order_by("workflow_id", "sequence")


def iter_export_records(queryset, chunk_size=CHUNK_SIZE):
    """Yield each record as a plain dict: hashed fields, hash, payload, id and labels."""
    rows = queryset.values(*VERIFY_FIELDS, *LABELS)
    for values in rows.iterator(chunk_size=chunk_size):
        record = {"id": values["id"], **export_record(values)}
        for column, label in LABELS.items():
            record[label] = values[column]
        yield record


def render_jsonl(records):
    for record in records:
        yield json.dumps(record, ensure_ascii=False) + "\n"


def render_json(records, meta):
    yield '{"export": ' + json.dumps(meta, ensure_ascii=False) + ', "records": ['
    separator = "\n"
    spans = {}  # workflow_id -> [first, last] sequence exported
    for record in records:
        span = spans.setdefault(record["workflow_id"], [record["sequence"], record["sequence"]])
        span[1] = record["sequence"]
        yield separator + json.dumps(record, ensure_ascii=False)
        separator = ",\n"
    yield '\n], "checkpoints": ['
    separator = "\n"
    for workflow_id, (first, last) in sorted(spans.items()):
        inside = EvidenceCheckpoint.objects.filter(workflow_id=workflow_id, sequence__range=(first, last))
        for checkpoint in inside.order_by("sequence").iterator():
            yield separator + json.dumps(as_dict(checkpoint))
            separator = ",\n"
    yield "\n]}\n"


class _Line:
    """A write-only file for csv.writer that hands back what was written."""

    def write(self, value):
        return value


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def render_csv(records, columns=CSV_COLUMNS):
    """CSV lines of `records` (dicts), one column each of `columns`, formulas escaped."""
    writer = csv.writer(_Line())
    yield writer.writerow(columns)
    for record in records:
        yield writer.writerow([_csv_cell(record.get(column)) for column in columns])


def parse_range(since, until):
    """Parse the optional ISO 8601 bounds of an export; dates mean midnight, local time."""
    bounds, errors = {}, {}
    for name, raw in (("since", since), ("until", until)):
        if not raw:
            bounds[name] = None
            continue
        value = parse_datetime(raw)
        if value is None and parse_date(raw) is not None:
            value = parse_datetime(raw + "T00:00:00")
        if value is None:
            errors[name] = ["Use an ISO 8601 date or date and time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z."]
            continue
        bounds[name] = timezone.make_aware(value) if timezone.is_naive(value) else value
    if not errors and bounds["since"] and bounds["until"] and bounds["since"] >= bounds["until"]:
        errors["until"] = ["Must be after “since”."]
    if errors:
        raise InvalidInput("The export range is invalid.", field_errors=errors)
    return bounds["since"], bounds["until"]


def export_response(queryset, fmt, *, filename, meta):
    """A StreamingHttpResponse with the export of `queryset` in `fmt` (jsonl, json or csv)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown export format “{fmt}”.", field_errors={"format": ["Use jsonl, json or csv."]})
    records = iter_export_records(queryset)
    if fmt == "jsonl":
        content = render_jsonl(records)
    elif fmt == "json":
        content = render_json(records, meta)
    else:
        content = render_csv(records)
    response = StreamingHttpResponse(content, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
