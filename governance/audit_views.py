"""Pages for auditors and owners: evidence export, alignment report, findings.

The timeline is the portal's workflow tab (`governance.timeline`).

Thin: each view checks who may see what through `governance.permissions`, calls one
function that does the work, and renders. Auditors see every workflow; control and
backup owners see their own; anyone else gets 403 (a workflow they may know of) or 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from governance import permissions
from governance.alignment.report import alignment_report
from governance.choices import FindingSeverity
from governance.evidence.exports import export_queryset, export_response, parse_range
from governance.evidence.intake import seal_workflows
from governance.exceptions import MandateError
from governance.findings.services import recompute_findings
from governance.models import Workflow

SEVERITY_RANK = Case(
    *(When(severity=value, then=Value(rank)) for rank, value in enumerate(reversed(FindingSeverity.values))),
    output_field=IntegerField(),
)


def _error(request, exc):
    return HttpResponse(exc.message, status=exc.http_status, content_type="text/plain; charset=utf-8")


def _audited_workflow(request, slug):
    """The workflow if the person may read its evidence; 404 if they may not see it at all."""
    workflow = get_object_or_404(Workflow, slug=slug)
    if not permissions.can_view_workflow(request.user, workflow):
        raise Http404("No such workflow.")
    if not permissions.can_see_workflow_internals(request.user, workflow):
        raise PermissionDenied("Only the workflow's owners and auditors can read its evidence.")
    return workflow


def _export(request, workflows, filename, scope):
    try:
        since, until = parse_range(request.GET.get("since"), request.GET.get("until"))
        fmt = request.GET.get("format", "jsonl")
        meta = {
            "scope": scope,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "exported_at": timezone.now().isoformat(),
            "exported_by": request.user.get_username(),
            "verify_with": "python verify_export.py <file> (governance/verify_export.py)",
        }
        seal_workflows(workflows)  # decisions still in the intake are exported too
        return export_response(export_queryset(workflows, since=since, until=until), fmt, filename=filename, meta=meta)
    except MandateError as exc:
        return _error(request, exc)


@require_GET
@login_required
def export_workflow(request, slug):
    workflow = _audited_workflow(request, slug)
    return _export(request, [workflow.pk], f"evidence-{workflow.slug}", workflow.slug)


@require_GET
@login_required
def export_portfolio(request):
    workflows = permissions.audit_workflows(request.user)
    if not (permissions.is_auditor(request.user) or workflows.exists()):
        raise PermissionDenied("Only auditors and workflow owners can export evidence.")
    return _export(request, workflows.values("pk"), "evidence-portfolio", "portfolio")


def _render_report(request, report, workflow=None):
    template = "governance/audit/report_print.html" if request.GET.get("print") else "governance/audit/report.html"
    return render(request, template, {"report": report, "workflow": workflow})


@require_GET
@login_required
def workflow_report(request, slug):
    workflow = _audited_workflow(request, slug)
    report = alignment_report(Workflow.objects.filter(pk=workflow.pk), scope=f"Workflow “{workflow}”")
    return _render_report(request, report, workflow)


@require_GET
@login_required
def portfolio_report(request):
    workflows = permissions.audit_workflows(request.user)
    if not (permissions.is_auditor(request.user) or workflows.exists()):
        raise PermissionDenied("Only auditors and workflow owners can see the alignment report.")
    scope = "All workflows" if permissions.is_auditor(request.user) else "Your workflows"
    return _render_report(request, alignment_report(workflows, scope=scope))


@require_GET
@login_required
def findings(request):
    visible = permissions.visible_findings(request.user)
    if not permissions.can_view_findings(request.user):
        raise PermissionDenied("Only auditors and workflow owners can see findings.")
    show_resolved = request.GET.get("resolved") == "1"
    rows = visible if show_resolved else visible.filter(resolved_at__isnull=True)
    slug = request.GET.get("workflow")
    if slug:
        rows = rows.filter(workflow__slug=slug)
    rows = rows.select_related("workflow").annotate(rank=SEVERITY_RANK).order_by("resolved_at", "rank", "kind")
    return render(
        request,
        "governance/audit/findings.html",
        {
            "findings": rows[:500],
            "show_resolved": show_resolved,
            "workflow_slug": slug or "",
            "can_recompute": permissions.can_recompute_findings(request.user),
        },
    )


@require_POST
@login_required
def recompute(request):
    if not permissions.can_recompute_findings(request.user):
        raise PermissionDenied("Only workflow owners and administrators recompute findings; auditors read them.")
    summary = recompute_findings()
    counts = f"{summary['open']} open, {summary['opened']} new, {summary['resolved']} resolved"
    messages.success(request, f"Findings recomputed: {counts}.")
    return redirect("audit:findings")
