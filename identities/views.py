"""Workload identities in the portal: the dossier, register, API keys (shown once), suspend
and reactivate."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from approvals.choices import GrantStatus, RequestState
from approvals.models import AccessRequest, Grant
from approvals.services import reactivate_workload, suspend_workload
from governance import permissions
from governance.choices import EvidenceKind
from governance.dossier.selectors import WORKLOAD_RELATED, EventQuery, workload_dossier
from governance.exceptions import InvalidInput
from governance.models import Workflow
from governance.permissions import require
from governance.portal import SERVICE_ERRORS, apply_field_errors, done, error_message, error_status, paginate

from . import services
from .forms import ApiKeyForm, ReactivateForm, SuspendForm, WorkloadForm
from .models import ApiKey, WorkloadIdentity


@login_required
def workload_list(request):
    workloads = (
        permissions.visible_workloads(request.user)
        .select_related("workflow", "owner")
        .annotate(
            active_grant_count=Count("grants", filter=Q(grants__status=GrantStatus.ACTIVE), distinct=True),
        )
        .order_by("name")
    )
    q = request.GET.get("q", "").strip()
    if q:
        workloads = workloads.filter(Q(name__icontains=q) | Q(slug__icontains=q) | Q(external_principal__icontains=q))
    context = {"page": paginate(request, workloads), "q": q, "can_register": _registerable(request.user).exists()}
    return render(request, "identities/workload_list.html", context)


def _registerable(user):
    return permissions.managed_workflows(user).exclude(status="retired").order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def workload_create(request):
    workflows = _registerable(request.user)
    require(workflows.exists(), "Only a workflow's owners register workloads for it, and you own none.")
    status = 200
    if request.method == "POST":
        form = WorkloadForm(request.POST, workflows=workflows)
        if form.is_valid():
            try:
                workload = services.register_workload(by=request.user, **form.service_fields())
            except SERVICE_ERRORS as exc:
                apply_field_errors(form, exc)
                status = error_status(exc)
            else:
                return done(
                    request,
                    f"Workload “{workload}” registered. Issue it an API key below.",
                    workload.get_absolute_url(),
                )
        else:
            status = 400
    else:
        initial = {"owner": request.user}
        chosen = Workflow.objects.filter(slug=request.GET.get("workflow", "")).first()
        if chosen is not None:
            initial["workflow"] = chosen
            initial["identity_source"] = chosen.identity_source_id
        form = WorkloadForm(initial=initial, workflows=workflows)
    return render(request, "identities/workload_form.html", {"form": form}, status=status)


def _workload(request, slug):
    workload = get_object_or_404(WorkloadIdentity.objects.select_related(*WORKLOAD_RELATED), slug=slug)
    if not permissions.can_view_workload(request.user, workload):
        raise Http404("No such workload.")
    return workload


def key_state(key, now):
    """active / rotating (usable until its grace period ends) / expired / revoked."""
    if key.revoked_at:
        return "revoked"
    if key.expires_at and key.expires_at <= now:
        return "expired"
    return "rotating" if key.expires_at else "active"


def _keys(workload):
    now = timezone.now()
    return [
        (key, key_state(key, now)) for key in workload.api_keys.select_related("created_by").order_by("-created_at")
    ]


def _detail_context(request, workload, **extra):
    """The dossier page: who, owners, can do, may ask for, why, what it did, how to stop it."""
    filter_errors = {}
    try:
        query = EventQuery.from_params(request.GET)
    except InvalidInput as exc:
        query, filter_errors = EventQuery(), exc.field_errors
    dossier = workload_dossier(workload, request.user, query)
    older = urlencode(query.as_params(before=dossier.next_before)) if dossier.next_before else ""
    return {
        "workload": workload,
        "dossier": dossier,
        "keys": _keys(workload),
        "key_form": ApiKeyForm(),
        "can_manage": dossier.can_manage,
        "event_kinds": EvidenceKind.choices,
        "filter_errors": filter_errors,
        "filtered": bool(query.as_params(before=None, limit=None)),
        "older_events": older,
        "newest_events": urlencode(query.as_params(before=None)) if query.before else None,
        **extra,
    }


@login_required
def workload_detail(request, slug):
    workload = _workload(request, slug)
    context = _detail_context(request, workload)
    return render(request, "identities/workload_detail.html", context, status=400 if context["filter_errors"] else 200)


def _keys_response(request, workload, *, notice, new_key=None, status=200):
    """The API-key panel (htmx) or the whole page. A new key's plaintext appears only here."""
    context = _detail_context(request, workload, notice=notice, new_key=new_key)
    template = "identities/_keys.html" if request.htmx else "identities/workload_detail.html"
    response = render(request, template, context, status=status)
    if new_key is not None:
        # The plaintext must not linger in any cache: it is shown once.
        response["Cache-Control"] = "no-store"
    return response


def _managed_workload(request, slug):
    workload = _workload(request, slug)
    require(
        permissions.can_manage_workload(request.user, workload),
        "Only the workload's owner and the workflow's owners manage its keys.",
    )
    return workload


@login_required
@require_POST
def key_issue(request, slug):
    workload = _managed_workload(request, slug)
    form = ApiKeyForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    try:
        key, plaintext = services.issue_api_key(workload=workload, name=name, created_by=request.user)
    except SERVICE_ERRORS as exc:
        notice = {"level": "error", "text": error_message(exc)}
        return _keys_response(request, workload, notice=notice, status=error_status(exc))
    notice = {"level": "success", "text": f"Key {key.prefix}… issued. Copy it now: it is not shown again."}
    return _keys_response(request, workload, notice=notice, new_key=plaintext, status=201)


@login_required
@require_POST
def key_rotate(request, slug, key_id):
    workload = _managed_workload(request, slug)
    key = get_object_or_404(ApiKey, pk=key_id, workload=workload)
    try:
        new, plaintext = services.rotate_api_key(key, rotated_by=request.user)
    except SERVICE_ERRORS as exc:
        notice = {"level": "error", "text": error_message(exc)}
        return _keys_response(request, workload, notice=notice, status=error_status(exc))
    text = f"Key {new.prefix}… replaces {key.prefix}…, which keeps working for 24 hours. Copy the new key now."
    return _keys_response(request, workload, notice={"level": "success", "text": text}, new_key=plaintext, status=201)


@login_required
@require_POST
def key_revoke(request, slug, key_id):
    workload = _managed_workload(request, slug)
    key = get_object_or_404(ApiKey, pk=key_id, workload=workload)
    services.revoke_api_key(key)
    notice = {"level": "success", "text": f"Key {key.prefix}… revoked: it stops working at once."}
    return _keys_response(request, workload, notice=notice)


def usable_keys(workload):
    """The workload's keys neither revoked nor expired, newest first."""
    now = timezone.now()
    return [k for k in workload.api_keys.order_by("-created_at") if k.is_usable(now)]


def suspension_impact(workload):
    """What suspending the workload ends, listed on the confirmation page."""
    return {
        "grants": list(
            Grant.objects.filter(workload=workload, status=GrantStatus.ACTIVE)
            .select_related("entitlement")
            .order_by("expires_at")
        ),
        "keys": usable_keys(workload),
        "pending": list(
            AccessRequest.objects.filter(workload=workload, state=RequestState.PENDING).select_related("entitlement")
        ),
    }


def _confirmed_status_change(request, slug, *, verb, form_class, service, succeeded, template, shown):
    """A suspension or reactivation: the confirmation page (what `shown(workload)` lists,
    a reason), then the service; the page again, with the service's refusal, if it fails."""
    workload = _workload(request, slug)
    require(
        permissions.can_manage_workload(request.user, workload),
        f"Only the workload's owner and the workflow's owners may {verb} it.",
    )
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                service(workload, by=request.user, reason=form.cleaned_data["reason"])
            except SERVICE_ERRORS as exc:
                form.add_error(None, error_message(exc))
                status = error_status(exc)
            else:
                return done(request, succeeded.format(workload=workload), workload.get_absolute_url())
        else:
            status = 400
    context = {"workload": workload, "form": form, **shown(workload)}
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def workload_suspend(request, slug):
    """The kill switch: a confirmation naming everything that will stop, then the service."""
    return _confirmed_status_change(
        request,
        slug,
        verb="suspend",
        form_class=SuspendForm,
        service=suspend_workload,
        succeeded="“{workload}” is suspended: its keys and grants no longer work.",
        template="identities/workload_suspend.html",
        shown=lambda workload: {"impact": suspension_impact(workload)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def workload_reactivate(request, slug):
    """Lift a suspension, after a confirmation saying what comes back (its keys) and what
    does not (its grants and requests)."""
    return _confirmed_status_change(
        request,
        slug,
        verb="reactivate",
        form_class=ReactivateForm,
        service=reactivate_workload,
        succeeded="“{workload}” is active again. Its grants are not restored: it asks for access anew.",
        template="identities/workload_reactivate.html",
        shown=lambda workload: {"keys": usable_keys(workload)},
    )
