"""Read-side queries of the portal: inboxes and lists, shaped to avoid N+1 queries."""

from datetime import timedelta

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from governance import permissions

from .choices import GrantStatus, RequestState
from .models import AccessRequest, Approval, OutboxMessage
from .queues.request_tickets import FLOW

REQUEST_RELATED = ("workflow", "entitlement", "requested_by", "workload", "workload__owner", "on_behalf_of")
GRANT_RELATED = ("workflow", "entitlement", "requested_by", "workload", "workload__owner", "on_behalf_of")


def initiated_by(user):
    """Requests or grants where the person is the accountable initiator (or owns the workload)."""
    return Q(requested_by=user) | Q(on_behalf_of=user) | Q(workload__owner=user)


def awaiting_decision_by(user):
    """Pending requests the person can decide now: in workflows they own, not initiated by
    them (separation of duties), and not already voted on by them (two-person)."""
    if not (user and user.is_authenticated):
        return AccessRequest.objects.none()
    managed_ids = permissions.managed_workflows(user).values("pk")
    voted = Approval.objects.filter(request=OuterRef("pk"), approver=user)
    return (
        AccessRequest.objects.filter(state=RequestState.PENDING, workflow_id__in=managed_ids)
        .exclude(initiated_by(user))
        .exclude(Exists(voted))
        .select_related(*REQUEST_RELATED)
        .order_by("created_at")
    )


def my_requests(user):
    """Requests the person made, or that a workload made for them or of theirs."""
    return AccessRequest.objects.filter(initiated_by(user)).select_related(*REQUEST_RELATED).order_by("-created_at")


def scoped_workflow_ids(user):
    """The workflows a person's dashboard covers: all for auditors, else the managed ones."""
    if permissions.is_auditor(user):
        return None
    return permissions.managed_workflows(user).values("pk")


def grants_expiring_soon(user, within=timedelta(hours=24)):
    now = timezone.now()
    grants = permissions.visible_grants(user).filter(
        status=GrantStatus.ACTIVE, expires_at__gt=now, expires_at__lte=now + within
    )
    return grants.select_related(*GRANT_RELATED).order_by("expires_at")


def recent_denials(user, since=timedelta(days=7)):
    requests = permissions.visible_requests(user).filter(
        state=RequestState.DENIED, updated_at__gte=timezone.now() - since
    )
    return requests.select_related(*REQUEST_RELATED).order_by("-updated_at")


def with_approval_counts(requests):
    """Annotate how many approvals each request has, in the same query."""
    approvals = (
        Approval.objects.filter(request=OuterRef("pk"), decision="approve")
        .order_by()
        .values("request")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return requests.annotate(approval_count=Coalesce(Subquery(approvals, output_field=IntegerField()), Value(0)))


def decided_in_scope(user):
    """Requests decided (or closed) in the person's workflows, all for auditors, newest first."""
    requests = AccessRequest.objects.exclude(state=RequestState.PENDING)
    scope = scoped_workflow_ids(user)
    if scope is not None:
        requests = requests.filter(workflow_id__in=scope)
    return requests.select_related(*REQUEST_RELATED).order_by("-decided_at", "-pk")


def pending_in_scope(user):
    """Pending requests of the person's workflows (every workflow for auditors), oldest first."""
    requests = AccessRequest.objects.filter(state=RequestState.PENDING)
    scope = scoped_workflow_ids(user)
    if scope is not None:
        requests = requests.filter(workflow_id__in=scope)
    return requests.select_related(*REQUEST_RELATED).order_by("created_at")


def grants_for(user, *, status="active", q=""):
    """The grants page: the grants a person may see, by status, searchable by scope or task."""
    grants = permissions.visible_grants(user).select_related(*GRANT_RELATED)
    if status == "active":
        grants = grants.filter(status=GrantStatus.ACTIVE).order_by("expires_at", "pk")
    elif status == "past":
        grants = grants.exclude(status=GrantStatus.ACTIVE).order_by("-ended_at", "-pk")
    else:
        grants = grants.order_by("-created_at", "-pk")
    if q:
        grants = grants.filter(
            Q(entitlement__scope__icontains=q) | Q(task_ref__icontains=q) | Q(workload__name__icontains=q)
        )
    return grants


def ticket_links_of(access_request):
    """The request's tickets, with their queues (one query)."""
    return list(access_request.ticket_links.select_related("connection").order_by("created_at"))


def ticket_trouble(access_request, links):
    """Why the request has no ticket in its workflow's queue although it should, or None.

    Returns {"permanent": bool, "queue": QueueConnection, "error": str}: `permanent` when
    opening the ticket was given up (the outbox message failed for good), otherwise the
    opening is still being retried while the queue reports `error`. A settled request, a
    workflow without a remote queue, or a ticket already open is no trouble.
    """

    queue = access_request.workflow.queue
    if queue is None or any(link.connection_id == queue.pk for link in links):
        return None
    opening = OutboxMessage.objects.filter(idempotency_key=FLOW.open_key(access_request.pk, queue.pk)).first()
    if opening is None or opening.delivered_at:
        return None  # no ticket was asked for (a disabled or in-browser queue), or it is on its way
    if opening.failed_at:
        return {"permanent": True, "queue": queue, "error": opening.last_error or queue.last_error}
    error = opening.last_error or queue.last_error
    if not error:
        return None  # waiting for its first attempt
    return {"permanent": False, "queue": queue, "error": error}
