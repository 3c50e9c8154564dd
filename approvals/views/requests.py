"""The approval inbox, the request page (decide, cancel) and the request-access form."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods, require_POST

from governance import permissions
from governance.exceptions import MandateError
from governance.models import Policy
from governance.permissions import require
from governance.portal import SERVICE_ERRORS, apply_field_errors, done, error_message, error_status, paginate

from .. import selectors, services
from ..choices import Channel, Decision, RequestState
from ..forms import DecisionForm, RequestAccessForm
from ..models import AccessRequest

INBOX_VIEWS = {
    "awaiting": "Waiting for me",
    "pending": "All pending",
    "decided": "Decided",
    "mine": "My requests",
}


@login_required
def inbox(request):
    user = request.user
    owns_something = permissions.is_auditor(user) or permissions.managed_workflows(user).exists()
    view = request.GET.get("view") or ("awaiting" if owns_something else "mine")
    if view not in INBOX_VIEWS:
        raise Http404("No such view.")
    requests = {
        "awaiting": selectors.awaiting_decision_by,
        "pending": selectors.pending_in_scope,
        "decided": selectors.decided_in_scope,
        "mine": selectors.my_requests,
    }[view](user)
    context = {
        "view": view,
        "view_label": INBOX_VIEWS[view],
        "views": INBOX_VIEWS if owns_something else {"mine": INBOX_VIEWS["mine"]},
        "page": paginate(request, selectors.with_approval_counts(requests)),
    }
    return render(request, "approvals/inbox.html", context)


def _request(request, pk):
    access_request = get_object_or_404(
        AccessRequest.objects.select_related(
            *selectors.REQUEST_RELATED,
            "workflow__control_owner",
            "workflow__backup_owner",
            "workflow__queue",
            "extends",
            "grant",
        ),
        pk=pk,
    )
    if not permissions.can_view_request(request.user, access_request):
        raise Http404("No such request.")
    return access_request


def _approver_panel(access_request, approvals):
    """Who approved, how many more are needed, and who can still give them."""
    approved = [a for a in approvals if a.decision == Decision.APPROVE]
    voted = {a.approver_id for a in approvals}
    conflicted = {access_request.requested_by_id, access_request.on_behalf_of_id}
    if access_request.workload_id:
        conflicted.add(access_request.workload.owner_id)
    candidates = [u for u in access_request.workflow.owners if u.pk not in conflicted]
    return {
        "required": access_request.required_approvals,
        "approved": approved,
        "still_needed": max(access_request.required_approvals - len(approved), 0),
        "waiting_on": [u for u in candidates if u.pk not in voted],
    }


def _why_not(user, access_request):
    """Why the person cannot decide, in the service's own words; None if they can."""
    if access_request.state != RequestState.PENDING:
        return None
    if permissions.is_auditor(user) and not permissions.is_admin(user):
        return "Auditors read requests; they do not decide them."
    try:
        services.check_can_decide(access_request, user)
    except MandateError as exc:
        return exc.message
    return None


def _request_context(request, access_request, **extra):
    approvals = list(access_request.approvals.select_related("approver").order_by("created_at"))
    why_not = _why_not(request.user, access_request)
    ticket_links = selectors.ticket_links_of(access_request)
    # Owners and administrators are told when the ticket queue failed them: they can decide here.
    sees_queue_errors = access_request.state == RequestState.PENDING and permissions.can_manage_workflow(
        request.user, access_request.workflow
    )
    return {
        "req": access_request,
        "approvals": approvals,
        "panel": _approver_panel(access_request, approvals),
        "grant": getattr(access_request, "grant", None),
        "ticket_links": ticket_links,
        "ticket_trouble": selectors.ticket_trouble(access_request, ticket_links) if sees_queue_errors else None,
        "is_admin": permissions.is_admin(request.user),
        "can_decide": access_request.state == RequestState.PENDING and why_not is None,
        "why_not": why_not,
        "can_cancel": access_request.state == RequestState.PENDING
        and permissions.can_cancel_request(request.user, access_request),
        "form": extra.pop("form", None) or DecisionForm(),
        **extra,
    }


@login_required
def request_detail(request, pk):
    access_request = _request(request, pk)
    return render(request, "approvals/request_detail.html", _request_context(request, access_request))


def _after_action(request, access_request, *, notice, status=200, form=None, redirect_message=None):
    """htmx: the request body swapped in place. Browser: redirect on success, page on error."""
    if status < 400 and not request.htmx and redirect_message:
        return done(request, redirect_message, access_request.get_absolute_url())
    access_request = _request(request, access_request.pk)
    context = _request_context(request, access_request, notice=notice, form=form)
    template = "approvals/_request_body.html" if request.htmx else "approvals/request_detail.html"
    return render(request, template, context, status=status)


OUTCOMES = {
    RequestState.APPROVED: "Approved: the grant is active.",
    RequestState.DENIED: "Denied. The requester sees your comment.",
    RequestState.PENDING: "Your approval is recorded; a second approver is still needed.",
}


@login_required
@require_POST
def request_decide(request, pk):
    access_request = _request(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        notice = {"level": "error", "text": " ".join(e for errors in form.errors.values() for e in errors)}
        return _after_action(request, access_request, notice=notice, status=400, form=form)
    try:
        access_request = services.decide(
            access_request,
            approver=request.user,
            decision=form.cleaned_data["decision"],
            channel=Channel.BROWSER,
            comment=form.cleaned_data["comment"],
        )
    except SERVICE_ERRORS as exc:
        notice = {"level": "error", "text": error_message(exc)}
        return _after_action(request, access_request, notice=notice, status=error_status(exc), form=form)
    text = OUTCOMES.get(access_request.state, "Decision recorded.")
    return _after_action(request, access_request, notice={"level": "success", "text": text}, redirect_message=text)


@login_required
@require_POST
def request_cancel(request, pk):
    access_request = _request(request, pk)
    require(permissions.can_cancel_request(request.user, access_request), "You may not withdraw this request.")
    try:
        services.cancel_request(access_request, by=request.user, reason=request.POST.get("reason", "").strip())
    except SERVICE_ERRORS as exc:
        notice = {"level": "error", "text": error_message(exc)}
        return _after_action(request, access_request, notice=notice, status=error_status(exc))
    text = "Request withdrawn."
    return _after_action(request, access_request, notice={"level": "success", "text": text}, redirect_message=text)


def requestable_policies(workflow_slug=""):
    policies = Policy.objects.filter(workflow__status="active").select_related("workflow", "entitlement")
    if workflow_slug:
        policies = policies.filter(workflow__slug=workflow_slug)
    return list(policies.order_by("workflow__name", "entitlement__scope"))


SUBMITTED = {
    RequestState.APPROVED: "Approved by policy: your access is active.",
    RequestState.PENDING: "Sent for approval. You will see the decision here.",
    RequestState.DENIED: "Denied by policy; the reasons are below.",
}


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request):
    require(permissions.can_request_access(request.user), "Auditors read; they do not request access.")
    workflow_slug = request.GET.get("workflow", "")
    policies = requestable_policies(workflow_slug) or requestable_policies()
    status = 200
    if request.method == "POST":
        form = RequestAccessForm(request.POST, policies=requestable_policies())
        if form.is_valid():
            policy = form.cleaned_data["policy"]
            try:
                access_request = services.submit_request(
                    workflow=policy.workflow,
                    entitlement=policy.entitlement,
                    duration_seconds=form.cleaned_data["duration_seconds"],
                    requested_by=request.user,
                    task_ref=form.cleaned_data["task_ref"],
                    justification=form.cleaned_data["justification"],
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except SERVICE_ERRORS as exc:
                apply_field_errors(form, exc)
                status = error_status(exc)
            else:
                return done(request, SUBMITTED[access_request.state], access_request.get_absolute_url())
        else:
            status = 400
    else:
        initial = {"policy": policies[0].pk} if workflow_slug and len(policies) == 1 else {}
        form = RequestAccessForm(policies=policies, initial=initial)
    limits = {p.pk: min(p.max_ttl_seconds, p.entitlement.max_lifetime_seconds) for p in policies}
    context = {"form": form, "policies": policies, "limits": limits, "workflow_slug": workflow_slug}
    return render(request, "approvals/request_form.html", context, status=status)
