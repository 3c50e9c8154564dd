"""The authorization check: may this subject do this in this workflow, now?

It is on the hot path of every agent tool call, so an allow and a deny alike are one
indexed statement (the workflow, the subject's active grant filtered by time in SQL, and
for a deny the grant to explain), written as SQL once per shape. The decision's record
goes to the evidence intake (an INSERT, no lock): on PostgreSQL inside that same
statement, which also words the answer's reason (`_decide_sql`), so an allow or a deny
is one round trip and its record is committed with it; elsewhere through the
`authorization_checked` signal.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from governance.choices import WorkflowStatus
from governance.exceptions import CredentialRefused
from governance.models import Entitlement, Workflow
from governance.models.statements import hot_cursor
from identities.choices import WorkloadStatus
from identities.models import ApiKey, WorkloadIdentity

from .. import signals
from ..choices import GrantStatus
from ..models import Grant


@dataclass
class AuthorizationResult:
    allow: bool
    reasons: list[str] = field(default_factory=list)
    grant_id: int | None = None
    expires_at: datetime | None = None
    workflow_id: int | None = None
    on_behalf_of_id: int | None = None

    def as_dict(self):
        return {
            "allow": self.allow,
            "reasons": self.reasons,
            "grant": self.grant_id,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def _slug(workflow):
    return workflow if isinstance(workflow, str) else workflow.slug


def authorize(
    *,
    workflow,
    scope,
    workload=None,
    user=None,
    task_ref=None,
    token_claims=None,
    resource="",
    action="",
    now=None,
    key_id=None,
):
    """Answer allow/deny with reasons from active, unexpired grants.

    `workflow` is a Workflow or its slug. With `token_claims` (a verified grant token) the
    answer also requires the token to be the grant's current one, so revoking or
    re-minting makes an old token fail at once. `resource` and `action` (what the tool
    call is about to touch and do) do not change the answer; they travel with the
    `authorization_checked` signal into the evidence record.

    `key_id`, on PostgreSQL, is the workload's API key as the caller presented it, taken
    from memory rather than read again (`identities.services.remembered_workload_key`):
    the check's statement verifies it is still unrevoked and unexpired, and raises
    CredentialRefused, deciding nothing, when it is not.
    """
    now = now or timezone.now()
    if (workload is None) == (user is None):
        raise ValueError("authorize needs exactly one subject: a workload or a user")
    slug = _slug(workflow)
    recorded = False
    if connection.vendor == "postgresql":
        result, recorded = _decide(slug, scope, workload, user, task_ref, token_claims, resource, action, now, key_id)
    else:
        result = _answer(slug, scope, workload, user, task_ref, token_claims, now)
    signals.authorization_checked.send(
        sender=Grant,
        result=result,
        subject=workload if workload is not None else user,
        workflow=slug,
        scope=scope,
        task_ref=task_ref or "",
        resource=resource or "",
        action=action or "",
        # The decision's record went in with the check's own statement: nothing to write.
        recorded=recorded,
    )
    return result


def _answer(slug, scope, workload, user, task_ref, token_claims, now):
    """The answer worded in Python (the embedded database); `_decide` words it in SQL."""
    workflow_row, grant, about = _check(slug, scope, workload, user, task_ref, token_claims, now)
    if grant is not None:
        result = AuthorizationResult(
            allow=True,
            reasons=[
                f"Grant #{grant['pk']} allows “{scope}” in “{slug}” until {grant['expires_at']:%Y-%m-%d %H:%M:%S %Z}."
            ],
            grant_id=grant["pk"],
            expires_at=grant["expires_at"],
            workflow_id=workflow_row["pk"],
            on_behalf_of_id=grant["on_behalf_of_id"],
        )
    elif workflow_row is None:
        result = AuthorizationResult(allow=False, reasons=[f"Unknown workflow “{slug}”."])
    elif not _may_know_of(workflow_row, workload, user):
        # The same words as for a slug that names nothing: whether a workflow the caller
        # cannot see exists, and its name, are not the caller's to learn. The check is
        # still recorded in that workflow's trail, for its owners.
        result = AuthorizationResult(
            allow=False, reasons=[f"Unknown workflow “{slug}”."], workflow_id=workflow_row["pk"]
        )
    else:
        reasons = _deny_reasons(workflow_row, about, scope, workload, task_ref, token_claims, now)
        result = AuthorizationResult(allow=False, reasons=reasons, workflow_id=workflow_row["pk"])
    return result


def _check_sql(*, for_workload, with_task, with_token):
    """The check's one statement, allow or deny alike, written out once per shape.

    The workflow by slug; the newest active, current grant of the subject (`allowing`);
    and the grant the answer is about: that one, else the subject's latest grant of the
    scope, which a deny explains (COALESCE evaluates its query only when nothing allows).
    An unknown workflow returns no row. The LIMIT keeps PostgreSQL from inlining `x`,
    which would evaluate the allowing query twice. The statuses are written in, not
    bound: the statement is prepared (`hot_cursor`), and a generic plan can use the
    partial indexes on active grants only when it sees `status = 'active'` itself.
    Compiling the equivalent querysets cost more than the database's answer.
    """
    # Table names from the models, values as parameters.
    grants = Grant._meta.db_table
    subject = "g.workload_id = %s" if for_workload else "g.requested_by_id = %s"
    task = " AND g.task_ref = %s" if with_task else ""
    candidates = (
        f"SELECT g.id FROM {grants} g JOIN {Entitlement._meta.db_table} e ON e.id = g.entitlement_id "  # noqa: S608
        f"WHERE g.workflow_id = {{workflow}} AND e.scope = %s AND {subject}{task}"
    )
    allowing = (
        candidates.format(workflow="w.id")  # noqa: S608
        + f" AND w.status = '{WorkflowStatus.ACTIVE}' AND g.status = '{GrantStatus.ACTIVE}'"
        + " AND g.starts_at <= %s AND g.expires_at > %s"
        + (" AND g.id = %s AND g.token_id = %s" if with_token else "")
        + (
            f" AND EXISTS (SELECT 1 FROM {WorkloadIdentity._meta.db_table} wl"  # noqa: S608
            f" WHERE wl.id = g.workload_id AND wl.status = '{WorkloadStatus.ACTIVE}')"
            if for_workload
            else ""
        )
        + " ORDER BY g.expires_at DESC LIMIT 1"
    )
    latest = candidates.format(workflow="x.id") + " ORDER BY g.created_at DESC LIMIT 1"
    return (
        "SELECT x.id, x.status, x.name, x.allowing, c.id, c.status, c.starts_at, c.expires_at, "  # noqa: S608
        "c.on_behalf_of_id, c.end_reason, x.control_owner_id, x.backup_owner_id "
        f"FROM (SELECT w.id, w.status, w.name, ({allowing}) AS allowing, w.control_owner_id, w.backup_owner_id "
        f"FROM {Workflow._meta.db_table} w WHERE w.slug = %s LIMIT 1) x "
        f"LEFT JOIN {grants} c ON c.id = COALESCE(x.allowing, ({latest}))"
    )


TOKEN_REASON = "The token is not the current token of an active grant (revoked, replaced or for another grant)."
_CHECK_SQL = {}
_DECIDE_SQL = {}
# Set by the evidence app (`GovernanceConfig.ready`): adds the decision's intake row to
# the check's statement on PostgreSQL (`governance.evidence.decisions.decision_insert`).
_recorder = None


def record_decisions_with(recorder):
    """Let `recorder(**decision)` return the INSERT that records a decision in its check's statement."""
    global _recorder
    _recorder = recorder


def _check_params(scope, workload, user, task_ref, token_claims, stamp, slug):
    candidates = [scope, workload.pk if workload is not None else user.pk] + ([task_ref] if task_ref else [])
    params = [*candidates, stamp, stamp]
    if token_claims is not None:
        # A claim that is not a grant id matches no grant (NULL compares to nothing).
        grant_claim = token_claims.get("grant")
        params += [grant_claim if isinstance(grant_claim, int) else None, str(token_claims.get("jti") or "")]
    return [*params, slug, *candidates]


def _when(column):
    """`f"{value:%Y-%m-%d %H:%M:%S %Z}"` of a UTC time, in SQL: how the reasons write dates."""
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"')"


def _decide_sql(shape, record):
    """The check (`_check_sql`), its answer's reason worded as `_deny_reasons` words it, and the record.

    `checked` is the check's row; `subject` the workload as it is now; `decided` adds
    whether the caller may know of the workflow (`_may_know_of`) and the one reason of
    the answer; `recorded` is the evidence layer's INSERT of the decision (`record`, or
    none). `subject` and `decided` are each read twice, so PostgreSQL evaluates them once.
    The text stays under 4 KB, the length up to which psycopg caches a statement's
    parsing (parsing it anew cost 0.25 ms a call): hence the terse names, and the fixed
    texts sent as parameters.
    """
    for_workload, with_task, with_token, with_key = shape
    may_know = (
        "c.w_id = s.workflow_id"
        if for_workload
        else f"COALESCE(c.w_status = '{WorkflowStatus.ACTIVE}' OR %s::bigint IN (c.w_owner, c.w_backup), false)"
    )
    grant = "'Grant #' || c.g_id || "
    reason = (
        "CASE "
        f"WHEN c.allowing IS NOT NULL THEN {grant}' allows “' || %s::text || '” in “' || %s::text || '” until ' "
        f"|| {_when('c.g_expires_at')} || '.' "
        "WHEN NOT d.known THEN 'Unknown workflow “' || %s::text || '”.' "
        f"WHEN c.w_status <> '{WorkflowStatus.ACTIVE}' THEN 'Workflow “' || c.w_name || '” is ' || c.w_status || '.' "
        + (
            f"WHEN s.status <> '{WorkloadStatus.ACTIVE}' THEN 'Workload “' || s.name || '” is ' || s.status || '.' "
            if for_workload
            else ""
        )
        + "WHEN c.g_id IS NULL THEN 'No grant of “' || %s::text || '” in “' || c.w_name || '”' || %s::text || '.' "
        f"WHEN c.g_status = '{GrantStatus.REVOKED}' THEN {grant}' was revoked: ' || c.g_end "
        f"WHEN c.g_status = '{GrantStatus.EXPIRED}' OR c.g_expires_at <= %s "
        f"THEN {grant}' expired at ' || {_when('c.g_expires_at')} || '.' "
        f"WHEN c.g_starts_at > %s THEN {grant}' starts at ' || {_when('c.g_starts_at')} || '.' "
        # With a token: TOKEN_REASON, a parameter (the statement stays short enough for
        # psycopg to cache its parsing: `tests/access/test_authorization_hot_path.py`).
        + (
            "ELSE %s::text "
            if with_token
            else "ELSE 'No active grant of “' || %s::text || '” in “' || c.w_name || '”.' "
        )
        + "END"
    )
    # The workload as it is now (its key, read from memory, checked again: `with_key`).
    key = (
        f" AND EXISTS (SELECT 1 FROM {ApiKey._meta.db_table} k WHERE k.id = %s::bigint AND k.workload_id = wl.id"  # noqa: S608
        " AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > %s))"
        if with_key
        else ""
    )
    subject = (
        ", subject AS (SELECT wl.workflow_id, wl.name, wl.status "  # noqa: S608
        f"FROM {WorkloadIdentity._meta.db_table} wl WHERE wl.id = %s::bigint{key})"
        if for_workload
        else ""
    )
    recorded = f", recorded AS ({record})" if record else ""
    count = "(SELECT count(*) FROM recorded)" if record else "0"
    return (
        "WITH checked (w_id, w_status, w_name, allowing, g_id, g_status, g_starts_at, g_expires_at, "  # noqa: S608
        "g_obo, g_end, w_owner, w_backup) AS "
        f"({_check_sql(for_workload=for_workload, with_task=with_task, with_token=with_token)}){subject}, "
        f"decided AS (SELECT c.*, d.known, {reason} AS reason "
        f"FROM checked c{', subject s' if for_workload else ''}, LATERAL (SELECT {may_know} AS known) d){recorded} "
        # A row even when nothing was decided: whether the subject (and its key) still holds.
        f"SELECT decided.*, {count}, {'(SELECT count(*) FROM subject)' if for_workload else '1'} "
        "FROM (SELECT 1) one LEFT JOIN decided ON true"
    )


def _decide(slug, scope, workload, user, task_ref, token_claims, resource, action, now, key_id):
    """PostgreSQL: (the answer, whether its record went in with it), in one statement."""
    shape = (workload is not None, bool(task_ref), token_claims is not None, key_id is not None)
    stamp = connection.ops.adapt_datetimefield_value(now)
    record = None
    if _recorder is not None:
        record = _recorder(
            now=stamp,
            scope=scope,
            task_ref=task_ref,
            resource=resource,
            action=action,
            workload_id=workload.pk if workload is not None else None,
            user_id=user.pk if user is not None else None,
        )
    record_sql, record_params = record or (None, [])
    sql = _DECIDE_SQL.get((shape, record_sql))
    if sql is None:
        sql = _DECIDE_SQL[(shape, record_sql)] = _decide_sql(shape, record_sql)
    params = _check_params(scope, workload, user, task_ref, token_claims, stamp, slug)
    if workload is not None:
        params += [workload.pk, key_id, stamp] if key_id is not None else [workload.pk]
    params += [scope, slug, slug, scope, f" for task “{task_ref}”" if task_ref else "", stamp, stamp]
    params.append(scope if token_claims is None else TOKEN_REASON)
    if user is not None:
        params.append(user.pk)  # may the person know of the workflow
    params += record_params
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if not row[15]:
        # The key was revoked or expired, or its workload is gone, since it was last read:
        # no decision is made, and the caller is told as the key's authentication would.
        raise CredentialRefused("Invalid, expired or revoked API key.")
    if row[0] is None:
        return AuthorizationResult(allow=False, reasons=[f"Unknown workflow “{slug}”."]), False
    workflow_id, allowing, reason, recorded = row[0], row[3], row[13], bool(row[14])
    if allowing is None:
        return AuthorizationResult(allow=False, reasons=[reason], workflow_id=workflow_id), recorded
    result = AuthorizationResult(
        allow=True,
        reasons=[reason],
        grant_id=allowing,
        expires_at=_aware(row[7]),
        workflow_id=workflow_id,
        on_behalf_of_id=row[8],
    )
    return result, recorded


def _check(slug, scope, workload, user, task_ref, token_claims, now):
    """One statement: (workflow row or None, allowing grant or None, grant to explain or None)."""
    shape = (workload is not None, bool(task_ref), token_claims is not None)
    sql = _CHECK_SQL.get(shape)
    if sql is None:
        sql = _CHECK_SQL[shape] = _check_sql(for_workload=shape[0], with_task=shape[1], with_token=shape[2])
    stamp = connection.ops.adapt_datetimefield_value(now)
    params = _check_params(scope, workload, user, task_ref, token_claims, stamp, slug)
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None, None
    workflow = {"pk": row[0], "status": row[1], "name": row[2]}
    if row[4] is None:
        return workflow, None, None
    grant = {
        "pk": row[4],
        "status": row[5],
        "starts_at": _aware(row[6]),
        "expires_at": _aware(row[7]),
        "on_behalf_of_id": row[8],
        "end_reason": row[9],
    }
    return workflow, (grant if row[3] is not None else None), grant


def _aware(value):
    if not isinstance(value, datetime):  # SQLite hands back text
        value = parse_datetime(value)
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


def _deny_reasons(workflow, latest, scope, workload, task_ref, token_claims, now):
    """Why nothing allows, the most specific reason first (never empty).

    `latest` is the subject's latest grant of the scope (with the task), or None.
    """
    if workflow["status"] != WorkflowStatus.ACTIVE:
        return [f"Workflow “{workflow['name']}” is {workflow['status']}."]
    if workload is not None and workload.status != WorkloadStatus.ACTIVE:
        return [f"Workload “{workload}” is {workload.status}."]
    if latest is None:
        task = f" for task “{task_ref}”" if task_ref else ""
        return [f"No grant of “{scope}” in “{workflow['name']}”{task}."]
    if latest["status"] == GrantStatus.REVOKED:
        return [f"Grant #{latest['pk']} was revoked: {latest['end_reason']}"]
    if latest["status"] == GrantStatus.EXPIRED or latest["expires_at"] <= now:
        return [f"Grant #{latest['pk']} expired at {latest['expires_at']:%Y-%m-%d %H:%M:%S %Z}."]
    if latest["starts_at"] > now:
        return [f"Grant #{latest['pk']} starts at {latest['starts_at']:%Y-%m-%d %H:%M:%S %Z}."]
    if token_claims is not None:
        return [TOKEN_REASON]
    return [f"No active grant of “{scope}” in “{workflow['name']}”."]


def _may_know_of(workflow, workload, user):
    """A workload knows its own workflow only; a person the active catalogue and what they own."""
    if workload is not None:
        return workload.workflow_id == workflow["pk"]
    if workflow["status"] == WorkflowStatus.ACTIVE:
        return True
    return Workflow.objects.filter(pk=workflow["pk"]).filter(Q(control_owner=user) | Q(backup_owner=user)).exists()
