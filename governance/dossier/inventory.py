"""The inventory: every workload the caller may see, with the dossier's answers, as rows.

Streamed: workloads come through `.iterator(chunk_size=…)` with their active grants (and
the approvals behind them) and their workflow's policies prefetched per chunk, so the
number of queries grows with the number of chunks, not of workloads. The JSON form
nests the answers as the dossier does; the CSV form flattens each list into one cell.
"""

from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.urls import reverse

from approvals.choices import GrantStatus, RequestState
from approvals.models import AccessRequest, Approval, Grant
from governance import permissions
from governance.models import EvidenceRecord, Policy

from . import answers
from .selectors import WORKLOAD_RELATED, entitlements

CHUNK_SIZE = 500
CSV_COLUMNS = [
    "slug",
    "name",
    "kind",
    "status",
    "status_reason",
    "owner",
    "workflow",
    "workflow_status",
    "risk_tier",
    "control_owner",
    "backup_owner",
    "identity_source",
    "external_principal",
    "active_grants",
    "entitlements",
    "pending_requests",
    "events",
    "last_event_at",
    "last_used_at",
    "created_at",
    "dossier",
]


def _count(queryset):
    return Subquery(queryset.values("workload").annotate(n=Count("id")).values("n")[:1])


def inventory_queryset(user):
    """The workloads `user` may see, shaped for the inventory (prefetches, counts)."""
    active = (
        Grant.objects.filter(status=GrantStatus.ACTIVE)
        .select_related("entitlement", "request", "request__on_behalf_of")
        .prefetch_related(Prefetch("request__approvals", queryset=Approval.objects.select_related("approver")))
        .order_by("expires_at")
    )
    events = EvidenceRecord.objects.filter(workload=OuterRef("pk"))
    pending = AccessRequest.objects.filter(workload=OuterRef("pk"), state=RequestState.PENDING)
    return (
        permissions.visible_workloads(user)
        .select_related(*WORKLOAD_RELATED)
        .prefetch_related(
            Prefetch("grants", queryset=active, to_attr="active_grants"),
            Prefetch("workflow__policies", queryset=Policy.objects.select_related("entitlement")),
        )
        .annotate(
            event_count=_count(events),
            last_event_at=Subquery(events.order_by("-id").values("occurred_at")[:1]),
            pending_count=_count(pending),
        )
        .order_by("slug")
    )


def inventory_entries(queryset, chunk_size=CHUNK_SIZE):
    """One dict a workload, in the dossier's words (JSON form)."""
    for workload in queryset.iterator(chunk_size=chunk_size):
        may_ask = entitlements(workload, policies=workload.workflow.policies.all())
        yield {
            **answers.identity(workload),
            "active_grants": [answers.grant(grant) for grant in workload.active_grants],
            "entitlements": [answers.entitlement(entitlement) for entitlement in may_ask],
            "pending_requests": workload.pending_count or 0,
            "events": workload.event_count or 0,
            "last_event_at": workload.last_event_at.isoformat() if workload.last_event_at else None,
            "dossier": reverse("identities:workload_detail", args=[workload.slug]),
        }


def _username(person):
    return person["username"] if person else ""


def _grant_cell(grant):
    why = grant["why"]
    approvers = ", ".join(_username(vote["by"]) for vote in why["approvals"]) or why["approval_mode"] or "policy"
    task = f" task {grant['task_ref']}" if grant["task_ref"] else ""
    return f"{grant['scope']} until {grant['expires_at']}{task} (approved by {approvers})"


def csv_row(entry):
    """An inventory entry flattened to the CSV columns (lists joined by “; ”)."""
    workflow = entry["workflow"]
    return {
        **{name: entry[name] for name in ("slug", "name", "kind", "status", "status_reason")},
        **{name: entry[name] for name in ("identity_source", "external_principal", "pending_requests", "events")},
        **{name: entry[name] for name in ("last_event_at", "last_used_at", "created_at", "dossier")},
        "owner": _username(entry["owner"]),
        "workflow": workflow["slug"],
        "workflow_status": workflow["status"],
        "risk_tier": workflow["risk_tier"],
        "control_owner": _username(workflow["control_owner"]),
        "backup_owner": _username(workflow["backup_owner"]),
        "active_grants": "; ".join(_grant_cell(grant) for grant in entry["active_grants"]),
        "entitlements": "; ".join(f"{e['scope']}: {e['approval_mode']}" for e in entry["entitlements"]),
    }
