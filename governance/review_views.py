"""The access-review page: progress, and certify / revoke each item or many at once."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from . import permissions
from .choices import ReviewItemKind
from .exceptions import MandateError
from .models import ReviewItem
from .review_forms import ReviewDecisionForm
from .reviews import decide_items


@login_required
def campaign_detail(request, pk):
    campaigns = permissions.visible_campaigns(request.user).select_related(
        "workflow__control_owner", "workflow__backup_owner", "closed_by"
    )
    campaign = get_object_or_404(campaigns, pk=pk)
    can_decide = campaign.is_open and permissions.can_decide_review(request.user, campaign)
    form = ReviewDecisionForm(request.POST or None, campaign=campaign)
    status = 200
    if request.method == "POST":
        if not can_decide:
            raise PermissionDenied("Only the workflow's owners answer an open access review.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                items = decide_items(
                    campaign, data["items"], by=request.user, decision=data["decision"], comment=data["comment"]
                )
            except MandateError as exc:
                form.add_error(None, exc.message)
                for field, errors in exc.field_errors.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
                status = exc.http_status
            else:
                messages.success(request, f"{len(items)} item{'s' if len(items) != 1 else ''} decided.")
                return redirect(campaign)
        else:
            status = 400
    items = list(
        ReviewItem.objects.filter(campaign=campaign).select_related(
            "grant", "workload", "policy__entitlement", "owner", "decided_by"
        )
    )
    decided = sum(1 for item in items if not item.is_pending)
    total = len(items)
    sections = [(kind.label, [item for item in items if item.kind == kind]) for kind in ReviewItemKind]
    context = {
        "campaign": campaign,
        "sections": [(label, rows) for label, rows in sections if rows],
        "decided": decided,
        "total": total,
        "percent": round(100 * decided / total) if total else 100,
        "overdue": campaign.is_overdue(timezone.now()),
        "can_decide": can_decide,
        "form": form,
        # The review's ticket in the workflow's queue, where one was opened.
        "ticket_links": list(campaign.ticket_links.select_related("connection")),
    }
    return render(request, "governance/review_campaign.html", context, status=status)
