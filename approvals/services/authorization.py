"""The authorization check: may this subject do this in this workflow, now?

It is on the hot path of every agent tool call, so the allow path is one indexed query
(active grants of the subject, joined to workflow, workload and entitlement, filtered by
time in SQL), written as SQL once per shape. Only a deny pays for more queries, to
explain itself. The decision's record goes to the evidence intake (one INSERT, no lock).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from governance.choices import WorkflowStatus
from governance.models import Entitlement, Workflow
from identities.choices import WorkloadStatus
from identities.models import WorkloadIdentity

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
    *, workflow, scope, workload=None, user=None, task_ref=None, token_claims=None, resource="", action="", now=None
):
    """Answer allow/deny with reasons from active, unexpired grants.

    `workflow` is a Workflow or its slug. With `token_claims` (a verified grant token) the
    answer also requires the token to be the grant's current one, so revoking or
    re-minting makes an old token fail at once. `resource` and `action` (what the tool
    call is about to touch and do) do not change the answer; they travel with the
    `authorization_checked` signal into the evidence record.
    """
    now = now or timezone.now()
    if (workload is None) == (user is None):
        raise ValueError("authorize needs exactly one subject: a workload or a user")
    slug = _slug(workflow)
    subject = {"workload": workload} if workload is not None else {"requested_by": user}
    grant = _active_grant(slug, scope, workload, user, task_ref, token_claims, now)
    if grant is not None:
        result = AuthorizationResult(
            allow=True,
            reasons=[
                f"Grant #{grant['pk']} allows “{scope}” in “{slug}” until {grant['expires_at']:%Y-%m-%d %H:%M:%S %Z}."
            ],
            grant_id=grant["pk"],
            expires_at=grant["expires_at"],
            workflow_id=grant["workflow_id"],
            on_behalf_of_id=grant["on_behalf_of_id"],
        )
    else:
        reasons, workflow_id = _explain_deny(slug, scope, subject, task_ref, token_claims, now)
        result = AuthorizationResult(allow=False, reasons=reasons, workflow_id=workflow_id)
    signals.authorization_checked.send(
        sender=Grant,
        result=result,
        subject=workload if workload is not None else user,
        workflow=slug,
        scope=scope,
        task_ref=task_ref or "",
        resource=resource or "",
        action=action or "",
    )
    return result


def _grant_sql(*, for_workload, with_task, with_token):
    """The allow path's one statement, written out: the ORM's compilation of the equivalent
    queryset cost more than the database's answer (docs/performance.md)."""
    joins = [
        f"JOIN {Workflow._meta.db_table} w ON w.id = g.workflow_id",
        f"JOIN {Entitlement._meta.db_table} e ON e.id = g.entitlement_id",
    ]
    where = [
        "g.status = %s",
        "w.slug = %s",
        "w.status = %s",
        "e.scope = %s",
        "g.starts_at <= %s",
        "g.expires_at > %s",
        "g.workload_id = %s" if for_workload else "g.requested_by_id = %s",
    ]
    if for_workload:
        joins.append(f"JOIN {WorkloadIdentity._meta.db_table} wl ON wl.id = g.workload_id AND wl.status = %s")
    if with_task:
        where.append("g.task_ref = %s")
    if with_token:
        where.append("g.id = %s AND g.token_id = %s")
    return (
        f"SELECT g.id, g.expires_at, g.workflow_id, g.on_behalf_of_id FROM {Grant._meta.db_table} g "  # noqa: S608
        + " ".join(joins)
        + " WHERE "
        + " AND ".join(where)
        + " ORDER BY g.expires_at DESC LIMIT 1"
    )


_GRANT_SQL = {}


def _active_grant(slug, scope, workload, user, task_ref, token_claims, now):
    """The newest active, current grant matching the check, as a dict, or None. One statement.

    Everything the answer and its evidence need comes back here: the decision's record
    must not read the grant a second time.
    """
    if token_claims is not None and not isinstance(token_claims.get("grant"), int):
        return None
    shape = (workload is not None, bool(task_ref), token_claims is not None)
    sql = _GRANT_SQL.get(shape)
    if sql is None:
        sql = _GRANT_SQL[shape] = _grant_sql(for_workload=shape[0], with_task=shape[1], with_token=shape[2])
    stamp = connection.ops.adapt_datetimefield_value(now)
    params = []
    if workload is not None:
        params.append(WorkloadStatus.ACTIVE)
    params += [GrantStatus.ACTIVE, slug, WorkflowStatus.ACTIVE, scope, stamp, stamp]
    params.append(workload.pk if workload is not None else user.pk)
    if task_ref:
        params.append(task_ref)
    if token_claims is not None:
        params += [token_claims["grant"], str(token_claims.get("jti") or "")]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    expires_at = row[1]
    if not isinstance(expires_at, datetime):  # SQLite hands back text
        expires_at = parse_datetime(expires_at)
    if timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at, UTC)
    return {"pk": row[0], "expires_at": expires_at, "workflow_id": row[2], "on_behalf_of_id": row[3]}


def _explain_deny(slug, scope, subject, task_ref, token_claims, now):
    """Why no grant matched, the most specific reason first (never empty), and the workflow's id."""
    workflow = (
        Workflow.objects.filter(slug=slug).values("pk", "status", "name", "control_owner_id", "backup_owner_id").first()
    )
    if workflow is None:
        return [f"Unknown workflow “{slug}”."], None
    if not _may_know_of(workflow, subject):
        # The same words as for a slug that names nothing: whether a workflow the caller
        # cannot see exists, and its name, are not the caller's to learn. The check is
        # still recorded in that workflow's trail, for its owners.
        return [f"Unknown workflow “{slug}”."], workflow["pk"]
    return _deny_reasons(workflow, scope, subject, task_ref, token_claims, now), workflow["pk"]


def _may_know_of(workflow, subject):
    """A workload knows its own workflow only; a person the active catalogue and what they own."""
    workload = subject.get("workload")
    if workload is not None:
        return workload.workflow_id == workflow["pk"]
    person_id = subject["requested_by"].pk
    return workflow["status"] == WorkflowStatus.ACTIVE or person_id in (
        workflow["control_owner_id"],
        workflow["backup_owner_id"],
    )


def _deny_reasons(workflow, scope, subject, task_ref, token_claims, now):
    if workflow["status"] != WorkflowStatus.ACTIVE:
        return [f"Workflow “{workflow['name']}” is {workflow['status']}."]
    workload = subject.get("workload")
    if workload is not None and workload.status != WorkloadStatus.ACTIVE:
        return [f"Workload “{workload}” is {workload.status}."]
    candidates = Grant.objects.filter(workflow_id=workflow["pk"], entitlement__scope=scope, **subject)
    if task_ref:
        candidates = candidates.filter(task_ref=task_ref)
    latest = candidates.order_by("-created_at").first()
    if latest is None:
        task = f" for task “{task_ref}”" if task_ref else ""
        return [f"No grant of “{scope}” in “{workflow['name']}”{task}."]
    if latest.status == GrantStatus.REVOKED:
        return [f"Grant #{latest.pk} was revoked: {latest.end_reason}"]
    if latest.status == GrantStatus.EXPIRED or latest.expires_at <= now:
        return [f"Grant #{latest.pk} expired at {latest.expires_at:%Y-%m-%d %H:%M:%S %Z}."]
    if latest.starts_at > now:
        return [f"Grant #{latest.pk} starts at {latest.starts_at:%Y-%m-%d %H:%M:%S %Z}."]
    if token_claims is not None:
        return ["The token is not the current token of an active grant (revoked, replaced or for another grant)."]
    return [f"No active grant of “{scope}” in “{workflow['name']}”."]
