"""Read models of the dossier: one workload, its access and why, and what it did.

A fixed handful of queries whatever the history holds (`tests/dossier` holds the
ceiling): the workload, one bounded page of evidence, the active grants, the policies,
the recent requests, and one query for the approvals of all those grants and requests
together; the evidence timeline is one bounded page with a cursor (`before`, the id of
the last record shown) to page on. Records are listed in the order they were
recorded (newest first) with their chain position; a record the sequencer has not chained
yet has no position and is shown as pending.
"""

from dataclasses import dataclass

from django.db.models import Prefetch, prefetch_related_objects

from approvals.choices import GrantStatus
from approvals.models import AccessRequest, Approval, Grant
from approvals.policy import approval_rule
from governance import permissions
from governance.choices import EvidenceKind
from governance.evidence.exports import parse_range
from governance.exceptions import InvalidInput
from governance.models import EvidenceRecord, Policy

DEFAULT_EVENTS = 50
MAX_EVENTS = 200
RECENT_REQUESTS = 10
MAX_GRANTS = 100
EVENT_FILTERS = ("kind", "tool", "task", "since", "until", "before", "limit")

WORKLOAD_RELATED = (
    "owner",
    "workflow",
    "workflow__control_owner",
    "workflow__backup_owner",
    "workflow__identity_source",
    "identity_source",
)


@dataclass
class EventQuery:
    """The timeline's filters, checked: kind, tool, task, occurred in [since, until), and
    the page (`before` an id, at most `limit` records)."""

    kind: str = ""
    tool: str = ""
    task: str = ""
    since: object = None
    until: object = None
    before: int | None = None
    limit: int = DEFAULT_EVENTS

    @classmethod
    def from_params(cls, params):
        errors = {}
        kind = (params.get("kind") or "").strip()
        if kind and kind not in EvidenceKind.values:
            errors["kind"] = [f"Use one of: {', '.join(EvidenceKind.values)}."]
        before = _positive_int(params.get("before"), "before", errors)
        limit = _positive_int(params.get("limit"), "limit", errors) or DEFAULT_EVENTS
        if limit > MAX_EVENTS:
            errors["limit"] = [f"At most {MAX_EVENTS}."]
        try:
            since, until = parse_range(params.get("since"), params.get("until"))
        except InvalidInput as exc:
            errors.update(exc.field_errors)
            since = until = None
        if errors:
            raise InvalidInput("The event filters are invalid.", field_errors=errors)
        return cls(
            kind=kind,
            tool=(params.get("tool") or "").strip(),
            task=(params.get("task") or "").strip(),
            since=since,
            until=until,
            before=before,
            limit=limit,
        )

    def as_params(self, **changes):
        """The filters as query parameters (for the link to the next page)."""
        values = {
            "kind": self.kind,
            "tool": self.tool,
            "task": self.task,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "limit": self.limit if self.limit != DEFAULT_EVENTS else "",
            "before": self.before or "",
            **changes,
        }
        return {name: value for name, value in values.items() if value not in ("", None)}


def _positive_int(raw, name, errors):
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        errors[name] = ["A positive whole number."]
        return None
    return value


@dataclass
class Entitlement:
    """One entitlement the workload may ask for, with the policy and the rule that decides."""

    policy: Policy
    approval_mode: str
    rule: str


@dataclass
class Dossier:
    workload: object
    active_grants: list
    entitlements: list
    recent_requests: list
    events: list
    next_before: int | None
    query: EventQuery
    can_manage: bool
    can_reactivate: bool


def _approvals():
    return Prefetch("approvals", queryset=Approval.objects.select_related("approver").order_by("created_at"))


def with_approvals(requests):
    """Attach each request's approvals (who decided, how) in one query for all of them."""
    prefetch_related_objects(list(requests), _approvals())
    return requests


def active_grants(workload):
    """The workload's active grants with the request behind each (`with_approvals` adds
    the approvals; the dossier fetches them together with the recent requests')."""
    grants = (
        Grant.objects.filter(workload=workload, status=GrantStatus.ACTIVE)
        .select_related("entitlement", "on_behalf_of", "revoked_by", "request__on_behalf_of")
        .order_by("expires_at")
    )
    return list(grants[:MAX_GRANTS])


def entitlements(workload, policies=None):
    """What the workload may ask for: its workflow's policies, each with the deciding rule.
    `policies` (already fetched, e.g. prefetched for an inventory) saves the query."""
    workflow = workload.workflow
    if policies is None:
        # Ordered here without the model's default (which joins the workflow to sort by name).
        policies = Policy.objects.filter(workflow=workflow).select_related("entitlement").order_by("entitlement__scope")
    answers = []
    for policy in sorted(policies, key=lambda policy: policy.entitlement.scope):
        mode, rule = approval_rule(
            approval_mode=policy.approval_mode,
            risk_tier=workflow.risk_tier,
            access_level=policy.entitlement.access_level,
            scope=policy.entitlement.scope,
        )
        answers.append(Entitlement(policy=policy, approval_mode=str(mode), rule=rule))
    return answers


def recent_requests(workload, count=RECENT_REQUESTS):
    """The workload's latest requests (without approvals: see `active_grants`)."""
    requests = AccessRequest.objects.filter(workload=workload).select_related("entitlement", "on_behalf_of")
    return list(requests.order_by("-created_at", "-id")[:count])


def workload_events(workload, query):
    """One page of the workload's own evidence, newest first, and the cursor to the next."""
    records = EvidenceRecord.objects.filter(workload=workload)
    if query.kind:
        records = records.filter(kind=query.kind)
    if query.tool:
        records = records.filter(tool_name=query.tool)
    if query.task:
        records = records.filter(task_ref=query.task)
    if query.since:
        records = records.filter(occurred_at__gte=query.since)
    if query.until:
        records = records.filter(occurred_at__lt=query.until)
    if query.before:
        records = records.filter(id__lt=query.before)
    page = list(records.select_related("workflow", "on_behalf_of", "actor").order_by("-id")[: query.limit + 1])
    more = len(page) > query.limit
    page = page[: query.limit]
    return page, (page[-1].id if more else None)


def workload_dossier(workload, user, query=None):
    """The dossier of a workload the caller may see (check `can_view_workload` first)."""
    query = query or EventQuery()
    events, next_before = workload_events(workload, query)
    grants = active_grants(workload)
    requests = recent_requests(workload)
    # The grants' requests and the recent ones overlap: their approvals in one query.
    with_approvals([grant.request for grant in grants] + requests)
    return Dossier(
        workload=workload,
        active_grants=grants,
        entitlements=entitlements(workload),
        recent_requests=requests,
        events=events,
        next_before=next_before,
        query=query,
        can_manage=permissions.can_manage_workload(user, workload),
        can_reactivate=permissions.can_reactivate_workload(user, workload),
    )
