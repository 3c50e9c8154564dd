"""The workflow registry: list, register, edit, and the detail page with its tabs."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from approvals.choices import GrantStatus
from approvals.models import AccessRequest, Grant
from approvals.selectors import GRANT_RELATED, REQUEST_RELATED
from governance.models import EvidenceChainHead
from governance.permissions import require
from governance.roles import reads_whole_registry
from identities.models import WorkloadIdentity

from .. import permissions, selectors, services
from ..choices import CampaignStatus
from ..exceptions import InvalidInput
from ..forms import WorkflowFilterForm, WorkflowForm
from ..models import Policy, Workflow
from ..portal import SERVICE_ERRORS, apply_field_errors, done, error_status, paginate
from ..reviews import selectors as review_selectors
from ..timeline import workflow_timeline

TABS = [
    # slug, label, needs internals (owners and auditors only)
    ("workloads", "Workload identities", True),
    ("policies", "Entitlements and policies", False),
    ("grants", "Grants", True),
    ("reviews", "Reviews", True),
    ("timeline", "Timeline", True),
]
TIMELINE_PAGE = 50
REVIEWS_PAGE = 10


@login_required
def workflow_list(request):
    form = WorkflowFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    page = paginate(request, selectors.registry(request.user, **filters))
    context = {
        "form": form,
        "page": page,
        "rows": [(wf, selectors.workflow_health(wf)) for wf in page.object_list],
        "filtered": any(filters.values()) if filters else False,
        "can_register": permissions.can_register_workflow(request.user),
        "can_see_drift": reads_whole_registry(request.user),
    }
    return render(request, "governance/workflow_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_create(request):
    require(permissions.can_register_workflow(request.user), "Auditors read the registry; they do not change it.")
    if request.method == "POST":
        form = WorkflowForm(request.POST, creating=True)
        if form.is_valid():
            try:
                workflow = services.register_workflow(by=request.user, **form.service_fields())
            except SERVICE_ERRORS as exc:
                apply_field_errors(form, exc)
            else:
                return done(
                    request, f"Workflow “{workflow}” registered.{_waiting(workflow)}", workflow.get_absolute_url()
                )
        status = 400
    else:
        form = WorkflowForm(creating=True, initial={"control_owner": request.user, "status": "draft"})
        status = 200
    return render(request, "governance/workflow_form.html", {"form": form, "creating": True}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_edit(request, slug):
    workflow = _visible_workflow(request, slug)
    require(
        permissions.can_change_workflow(request.user, workflow),
        "Only the workflow's owners and the security team may change it.",
    )
    status = 200
    if request.method == "POST":
        form = WorkflowForm(request.POST, instance=workflow)
        if form.is_valid():
            try:
                workflow = services.update_workflow(workflow, by=request.user, **form.service_fields())
            except SERVICE_ERRORS as exc:
                apply_field_errors(form, exc)
                status = error_status(exc)
            else:
                return done(request, f"Workflow “{workflow}” saved.{_waiting(workflow)}", workflow.get_absolute_url())
        else:
            status = 400
        workflow.refresh_from_db()
    else:
        form = WorkflowForm(instance=workflow)
    context = {"form": form, "workflow": workflow, "creating": False}
    return render(request, "governance/workflow_form.html", context, status=status)


def _waiting(workflow):
    change = getattr(workflow, "proposed_change", None)
    if change is None:
        return ""
    return f" {change.summary} — this waits for a second person's approval (registry change #{change.pk})."


def _visible_workflow(request, slug):
    workflow = get_object_or_404(
        Workflow.objects.select_related("control_owner", "backup_owner", "identity_source", "queue"), slug=slug
    )
    if not permissions.can_view_workflow(request.user, workflow):
        raise Http404("No such workflow.")
    return workflow


@login_required
def workflow_detail(request, slug, tab=None):
    workflow = _visible_workflow(request, slug)
    internals = permissions.can_see_workflow_internals(request.user, workflow)
    tabs = [(key, label) for key, label, private in TABS if internals or not private]
    tab = tab or tabs[0][0]
    if tab not in dict(tabs):
        # A tab that exists but is the owners' and auditors' is a refusal, not a missing page.
        require(
            tab not in {key for key, _label, _private in TABS}, "Only the workflow's owners and auditors see this tab."
        )
        raise Http404("No such tab.")
    context = {
        "workflow": workflow,
        "health": selectors.workflow_health(workflow),
        "tabs": tabs,
        "tab": tab,
        "can_manage": permissions.can_manage_workflow(request.user, workflow),
        "can_change": permissions.can_change_workflow(request.user, workflow),
        "can_request_access": permissions.can_request_access(request.user) and workflow.status == "active",
        "open_review": workflow.review_campaigns.filter(status=CampaignStatus.OPEN).first() if internals else None,
        **TAB_CONTEXT[tab](request, workflow),
    }
    # htmx swaps just the tab strip and panel; history restores and plain browsers get the page.
    partial = request.htmx and not request.htmx.history_restore_request
    return render(request, "governance/_tabs.html" if partial else "governance/workflow_detail.html", context)


def _workloads(request, workflow):
    workloads = WorkloadIdentity.objects.filter(workflow=workflow).select_related("owner").order_by("name")
    return {"workloads": paginate(request, workloads)}


def _policies(request, workflow):
    policies = Policy.objects.filter(workflow=workflow).select_related("entitlement").order_by("entitlement__scope")
    return {"policies": list(policies)}


def _grants(request, workflow):
    grants = Grant.objects.filter(workflow=workflow).select_related(*GRANT_RELATED)
    pending = AccessRequest.objects.filter(workflow=workflow, state="pending").select_related(*REQUEST_RELATED)
    return {
        "active_grants": list(grants.filter(status=GrantStatus.ACTIVE).order_by("expires_at")[:100]),
        "past_grants": paginate(request, grants.exclude(status=GrantStatus.ACTIVE).order_by("-ended_at", "-pk")),
        "pending_requests": list(pending.order_by("created_at")[:50]),
    }


def _reviews(request, workflow):
    campaigns = paginate(request, review_selectors.workflow_campaigns(workflow), per_page=REVIEWS_PAGE)
    rows = review_selectors.rows(campaigns.object_list)
    return {
        "review_status": selectors.review_status(workflow),
        "campaigns": campaigns,
        "campaign_rows": rows,
        "open_row": next((row for row in rows if row.campaign.is_open), None),
    }


def _timeline(request, workflow):
    cursor = request.GET.get("cursor") or None
    try:
        page = workflow_timeline(workflow, cursor=cursor, limit=TIMELINE_PAGE)
    except InvalidInput as exc:
        raise BadRequest(exc.message)
    return {
        "entries": page.entries,
        "older_cursor": page.next_cursor,
        "is_first_page": cursor is None,
        "chain_head": EvidenceChainHead.objects.filter(pk=workflow.pk).first(),
    }


TAB_CONTEXT = {
    "workloads": _workloads,
    "policies": _policies,
    "grants": _grants,
    "reviews": _reviews,
    "timeline": _timeline,
}
