"""An authorization decision's record, written by the check's own statement (PostgreSQL).

The check (`approvals.services.authorization`) answers from one statement whose CTE
`decided` holds the answer: `w_id`, `allowing` (the allowing grant's id or NULL),
`g_expires_at`, `g_obo` (the grant's on-behalf-of person) and `reason` (the answer's one
reason, the text the Python path writes). `decision_insert` adds the decision's intake row to that statement
(`INSERT … SELECT … FROM decided`), built by the database byte for byte as
`record_decision` builds it in Python (`tests/evidence/test_decisions_in_one_statement.py`):
the summary, the payload's canonical JSON and its SHA-256. So the decision is recorded,
and committed (the view runs in autocommit), by the statement that decides it: one round
trip instead of two, and the answer still leaves only once its record is durable.

What SQL cannot reproduce faithfully is left to the Python path: the statement inserts
nothing when the summary could need redaction or truncation, when it would need
stripping, or when the payload exceeds its limit (`_NEEDS_REDACTION`: a superset of
what `validation.redact` rewrites; `_PLAIN_ENDING`), and then the check's signal records the decision as
before (one INSERT more, rare).
"""

import json

from django.conf import settings

from governance.choices import EvidenceKind, EvidenceOutcome

from .intake import INTAKE_FIELDS
from .models import EvidenceIntake
from .validation import MAX_SUMMARY, TEXT_LIMITS, _clean_text

# A summary matching none of these is left unchanged by `validation.redact`: each
# alternative is implied by one of its patterns (case folded, word boundaries dropped),
# and none of the letters Python's case-insensitive matching folds onto ASCII (ı ſ K İ).
_NEEDS_REDACTION = (
    r"private key|mdt_|eyj|bearer|gh[pousr]_|github_pat_|[skrp]k-|(akia|asia)[0-9a-z]{16}"
    r"|(password|passwd|secret|token|api[_-]?key).*[:=]|@"
)
_FOLDED_ONTO_ASCII = "[ıſKİ]"  # matched case-sensitively: folded, they would be i s k
# A reason ending in one of these is not stripped by Python (`str.rstrip`) and takes the
# full stop `reasons_text` adds exactly when it does not end in . ! ? or ….
_PLAIN_ENDING = "[!-~…]$"


def _utc(column, pattern):
    return f"to_char({column} AT TIME ZONE 'UTC', '{pattern}')"


def _iso(column):
    """`datetime.isoformat()` of a UTC time: microseconds only when there are any."""
    seconds = _utc(column, 'YYYY-MM-DD"T"HH24:MI:SS')
    return (
        f"{seconds} || CASE WHEN to_char({column}, 'US') <> '000000' "
        f"THEN '.' || to_char({column}, 'US') ELSE '' END || '+00:00'"
    )


_SQL = {}


def _insert_sql(store_raw):
    """The INSERT, once per setting; its parameters are `decision_insert`'s, in order."""
    sql = _SQL.get(store_raw)
    if sql is not None:
        return sql
    values = {
        "workflow_id": "d.w_id",
        "kind": "%s::text",
        "occurred_at": "%s",
        "workload_id": "%s::bigint",
        "on_behalf_of_id": "CASE WHEN %s::boolean AND d.allowing IS NOT NULL THEN d.g_obo END",
        "actor_id": "%s::bigint",
        "access_request_id": "NULL",
        "grant_id": "d.allowing",
        "task_ref": "%s::text",
        "ticket_ref": "''",
        "tool_name": "%s::text",
        "target_resource": "%s::text",
        "data_classification": "''",
        "outcome": "CASE WHEN d.allowing IS NULL THEN %s::text ELSE %s::text END",
        "summary": "r.summary",
        "payload_sha256": "encode(sha256(convert_to(r.payload, 'UTF8')), 'hex')",
        "raw_payload": "r.payload" if store_raw else "NULL",
    }
    columns = ", ".join(INTAKE_FIELDS)  # plain names: the statement must stay short (see below)
    payload = (
        '%s::text || CASE WHEN d.allowing IS NULL THEN \'false,"expires_at":null,"grant":null\' '
        f'ELSE \'true,"expires_at":"\' || {_iso("d.g_expires_at")} || \'","grant":\' || d.allowing END '
        "|| ',\"reasons\":[' || to_json(d.reason)::text || ']' || %s::text"
    )
    summary = "'“' || %s::text || '”: ' || d.reason || CASE WHEN d.reason ~ '[.!?…]$' THEN '' ELSE '.' END"
    sql = _SQL[store_raw] = (
        f"INSERT INTO {EvidenceIntake._meta.db_table} ({columns}) "  # noqa: S608 (names from the models)
        f"SELECT {', '.join(values[name] for name in INTAKE_FIELDS)} "
        f"FROM decided d, LATERAL (SELECT {summary} AS summary, {payload} AS payload) r "
        f"WHERE d.reason ~ '{_PLAIN_ENDING}' AND length(r.summary) <= {MAX_SUMMARY} "
        # The patterns are parameters: the whole check stays under the length up to which
        # psycopg caches a statement's parsing (4 KB), which otherwise cost 0.25 ms a call.
        "AND r.summary !~* %s::text AND r.summary !~ %s::text AND octet_length(r.payload) <= %s::integer "
        "RETURNING 1"
    )
    return sql


def _text(value):
    """The text as `clean_event` would keep it, or None when it would refuse it."""
    errors = {}
    cleaned = _clean_text("text", value, 10**6, errors)
    return None if errors else cleaned


def decision_insert(*, now, scope, task_ref, resource, action, workload_id, user_id):
    """The decision's INSERT for the check's statement and its parameters, or None.

    None when Python must write the record (an input `clean_event` would refuse or
    change beyond stripping): the check then records it through its signal, which raises
    the same error the Python path always raised.
    """
    texts = {"scope": scope, "task_ref": task_ref or "", "resource": resource or "", "action": action or ""}
    if any(_text(value) is None for value in texts.values()):
        return None
    cleaned = {
        "task_ref": _text(texts["task_ref"]),
        "tool_name": _text(texts["action"]),
        "target_resource": _text(texts["resource"] or scope),
    }
    if any(len(cleaned[name]) > TEXT_LIMITS[name] for name in cleaned):
        return None
    # The payload's canonical JSON around what the database fills in (sorted keys).
    head = '{"action":' + json.dumps(texts["action"], ensure_ascii=False) + ',"allow":'
    tail = (
        f',"resource":{json.dumps(texts["resource"], ensure_ascii=False)}'
        f',"scope":{json.dumps(scope, ensure_ascii=False)}'
        f',"task_ref":{json.dumps(texts["task_ref"], ensure_ascii=False)}}}'
    )
    params = [
        EvidenceKind.AUTHORIZATION.value,
        now,
        workload_id,
        workload_id is not None,  # a person's decision names nobody on whose behalf
        user_id,
        cleaned["task_ref"],
        cleaned["tool_name"],
        cleaned["target_resource"],
        EvidenceOutcome.DENIED.value,
        EvidenceOutcome.ALLOWED.value,
        scope,  # the summary
        head,
        tail,
        _NEEDS_REDACTION,
        _FOLDED_ONTO_ASCII,
        settings.EVIDENCE_MAX_PAYLOAD_BYTES,
    ]
    return _insert_sql(bool(settings.EVIDENCE_STORE_RAW_PAYLOADS)), params
