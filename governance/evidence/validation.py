"""Checking and cleaning what is about to become evidence, field by field.

Every error is collected (not raised at the first), so a refused batch lists everything
wrong with each event. Free text is redacted here: a summary never keeps what looks like
a credential or an e-mail address.
"""

import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.models import Grant
from governance.choices import AGENT_EVIDENCE_KINDS, AGENT_EVIDENCE_OUTCOMES, EvidenceKind, EvidenceOutcome, Sensitivity
from governance.verify_export import canonical_json, sha256_hex

# The choices as sets, once: `TextChoices.values` builds its list afresh on every access,
# which on every decision's record cost more than the rest of its checks.
KINDS = frozenset(EvidenceKind.values)
OUTCOMES = frozenset(EvidenceOutcome.values)
CLASSIFICATIONS = frozenset(("", *Sensitivity.values))

MAX_SUMMARY = 1000
# Agents' clocks drift; an event further in the future than this is a mistake.
CLOCK_SKEW = timedelta(minutes=5)
TEXT_LIMITS = {"task_ref": 200, "ticket_ref": 200, "tool_name": 200, "target_resource": 500}
NO_PAYLOAD = object()

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REDACTIONS = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), "[REDACTED KEY]"),
    (re.compile(r"\bmdt_[0-9a-f]{8}_[A-Za-z0-9_-]{16,}"), "[REDACTED API KEY]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[REDACTED TOKEN]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer [REDACTED]"),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), "[REDACTED TOKEN]"),
    (re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_-]{16,}"), "[REDACTED KEY]"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[REDACTED KEY]"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|api[_-]?key)(\s*[:=]\s*)\S+"), r"\1\2[REDACTED]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
]


def redact(text: str) -> str:
    """Mask what looks like a credential or an e-mail address in a free-text summary."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _is_utf8(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(name):
    """A field name safe to put in an error message, whatever the client sent."""
    return str(name).encode("utf-8", "backslashreplace").decode("utf-8")[:50]


def _grant_id(value):
    """A grant id as sent, if it can be one (a positive 64-bit integer), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    return None


def _payload_fields(payload, payload_sha256, errors):
    """Hash (and maybe keep) the payload; collect errors. Returns (sha256, raw or None)."""
    raw = None
    if payload is not NO_PAYLOAD:
        try:
            encoded = canonical_json(payload)
        except (TypeError, ValueError) as exc:
            errors.setdefault("payload", []).append(f"The payload must be plain JSON ({_shown(exc)}).")
            return "", None
        limit = settings.EVIDENCE_MAX_PAYLOAD_BYTES
        if len(encoded) > limit:
            errors.setdefault("payload", []).append(
                f"The payload is {len(encoded)} bytes; the limit is {limit} bytes. "
                "Send its SHA-256 as payload_sha256 instead."
            )
            return "", None
        digest = sha256_hex(encoded)
        if payload_sha256 and payload_sha256 != digest:
            errors.setdefault("payload_sha256", []).append("Does not match the SHA-256 of the payload sent.")
        if settings.EVIDENCE_STORE_RAW_PAYLOADS:
            raw = encoded.decode("utf-8")
        return digest, raw
    if payload_sha256 and not _SHA256.match(payload_sha256):
        errors.setdefault("payload_sha256", []).append("Must be 64 lowercase hexadecimal characters.")
    return payload_sha256, None


def _clean_text(name, value, limit, errors):
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.setdefault(name, []).append("Must be a string.")
        return ""
    if "\x00" in value:
        errors.setdefault(name, []).append("Must not contain NUL characters.")
        return ""
    if not _is_utf8(value):
        errors.setdefault(name, []).append("Must be valid Unicode text (no lone surrogates).")
        return ""
    value = value.strip()
    if len(value) > limit:
        errors.setdefault(name, []).append(f"At most {limit} characters ({len(value)} sent).")
    return value


def clean_common(data, errors, *, truncate_summary):
    """Validate the fields every writer shares; return the cleaned field values."""
    cleaned = {}
    for name, limit in TEXT_LIMITS.items():
        cleaned[name] = _clean_text(name, data.get(name), limit, errors)
    summary = _clean_text("summary", data.get("summary"), 10**6 if truncate_summary else MAX_SUMMARY, errors)
    summary = redact(summary)
    cleaned["summary"] = summary if len(summary) <= MAX_SUMMARY else summary[: MAX_SUMMARY - 1] + "…"
    classification = data.get("data_classification") or ""
    if not isinstance(classification, str) or classification not in CLASSIFICATIONS:
        errors.setdefault("data_classification", []).append(f"Must be one of {', '.join(Sensitivity.values)}.")
    cleaned["data_classification"] = classification
    payload = data.get("payload", NO_PAYLOAD)
    payload_sha256 = data.get("payload_sha256") or ""
    if not isinstance(payload_sha256, str):
        errors.setdefault("payload_sha256", []).append("Must be a string.")
        payload_sha256 = ""
    cleaned["payload_sha256"], cleaned["raw_payload"] = _payload_fields(
        NO_PAYLOAD if payload is None else payload, payload_sha256.strip().lower(), errors
    )
    return cleaned


def _parse_occurred_at(value, now, errors):
    if value in (None, ""):
        return now
    if isinstance(value, str) and "\x00" in value:
        value = None  # NUL is never part of a date; Python's ISO parser would skip past it
    try:
        parsed = value if isinstance(value, datetime) else parse_datetime(value) if isinstance(value, str) else None
        # In UTC an offset can carry a date past year 9999 or before year 1: not storable.
        if parsed is not None and not timezone.is_naive(parsed):
            parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # "2026-02-30", "25:61", "+99:00", year 10000 in UTC
        parsed = None
    if parsed is None:
        errors.setdefault("occurred_at", []).append("Must be an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z.")
        return now
    if timezone.is_naive(parsed):
        errors.setdefault("occurred_at", []).append("Include a time zone (e.g. a trailing Z for UTC).")
        return now
    if parsed > now + CLOCK_SKEW:
        errors.setdefault("occurred_at", []).append("Is in the future.")
    return parsed


AGENT_ITEM_FIELDS = frozenset(
    {
        "kind",
        "outcome",
        "occurred_at",
        "summary",
        "task_ref",
        "ticket_ref",
        "tool_name",
        "target_resource",
        "data_classification",
        "payload",
        "payload_sha256",
        "grant",
    }
)


def clean_agent_item(item, workload, grants, now):
    """Validate one reported event; return (event dict, errors dict)."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Each item must be a JSON object."]}
    errors = {}
    unknown = sorted(set(item) - AGENT_ITEM_FIELDS)
    if unknown:
        errors["non_field_errors"] = [f"Unknown field(s): {', '.join(_shown(name) for name in unknown[:10])}."]
    kind = item.get("kind")
    if not kind:
        errors["kind"] = ["This field is required."]
    elif not isinstance(kind, str) or kind not in KINDS:
        errors["kind"] = [f"Must be one of {', '.join(sorted(AGENT_EVIDENCE_KINDS))}."]
    elif kind not in AGENT_EVIDENCE_KINDS:
        allowed = ", ".join(sorted(AGENT_EVIDENCE_KINDS))
        errors["kind"] = [f"Agents report {allowed}; “{kind}” evidence is recorded by Mandate itself."]
    outcome = item.get("outcome") or ""
    if outcome and (not isinstance(outcome, str) or outcome not in AGENT_EVIDENCE_OUTCOMES):
        errors["outcome"] = [f"Must be one of {', '.join(sorted(AGENT_EVIDENCE_OUTCOMES))}."]
    cleaned = clean_common(item, errors, truncate_summary=False)
    occurred_at = _parse_occurred_at(item.get("occurred_at"), now, errors)
    grant = None
    if item.get("grant") is not None:
        grant_id = _grant_id(item["grant"])
        grant = grants.get(grant_id) if grant_id else None
        if grant is None:
            errors["grant"] = [f"Grant {_shown(repr(item['grant']))} is not a grant of workload “{workload}”."]
    elif cleaned["task_ref"] and "grant" not in errors:
        grant = grant_of_task(grants, cleaned["task_ref"], occurred_at)
    # The person acted for comes from Mandate's own grants, never from the agent's claim.
    on_behalf_of_id = grant["on_behalf_of_id"] if grant else None
    event = {
        "kind": kind,
        "outcome": outcome,
        "occurred_at": occurred_at,
        "workload_id": workload.pk,
        "on_behalf_of_id": on_behalf_of_id,
        "actor_id": None,
        "access_request_id": grant["request_id"] if grant else None,
        "grant_id": grant["pk"] if grant else None,
        **cleaned,
    }
    return event, errors


def grant_of_task(grants, task_ref, occurred_at):
    """The workload's grant for `task_ref` an unnamed event happened under: the one in force
    at `occurred_at` (the latest issued, where several were), else the latest issued before it
    (an event reported after its task ended). `grants` come newest first."""
    started = [g for g in grants.values() if g["task_ref"] == task_ref and g["starts_at"] <= occurred_at]
    in_force = [g for g in started if occurred_at < (g["ended_at"] or g["expires_at"])]
    return (in_force or started or [None])[0]


def grants_named_in(workload, items):
    """The workload's grants that the items name, by id or by task: a workload may have thousands."""
    dicts = [item for item in items if isinstance(item, dict)]
    grant_ids = {_grant_id(i.get("grant")) for i in dicts} - {None}
    task_refs = {
        i["task_ref"].strip()
        for i in dicts
        # Text the database cannot hold (NUL, lone surrogates) is refused per item later.
        if isinstance(i.get("task_ref"), str)
        and i["task_ref"].strip()
        and "\x00" not in i["task_ref"]
        and _is_utf8(i["task_ref"])
    }
    return {
        g["pk"]: g
        for g in Grant.objects.filter(workload=workload, workflow_id=workload.workflow_id)
        .filter(Q(pk__in=grant_ids) | Q(task_ref__in=task_refs))
        .order_by("-created_at")
        .values("pk", "on_behalf_of_id", "request_id", "task_ref", "starts_at", "expires_at", "ended_at")
    }
