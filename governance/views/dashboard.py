"""The dashboard: what needs the signed-in person's attention today."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from approvals import selectors as approval_selectors

from .. import permissions, selectors
from ..reviews import selectors as review_selectors

LIST_LIMIT = 8


@login_required
def dashboard(request):
    user = request.user
    # Auditors decide nothing: their first card is every pending request instead.
    read_only = permissions.is_auditor(user) and not permissions.can_request_access(user)
    select = approval_selectors.pending_in_scope if read_only else approval_selectors.awaiting_decision_by
    awaiting = select(user)
    awaiting_count = awaiting.count()
    awaiting_page = list(awaiting[:LIST_LIMIT])
    oldest = awaiting_page[0].created_at if awaiting_page else None

    expiring = approval_selectors.grants_expiring_soon(user)
    denials = approval_selectors.recent_denials(user)
    workflows = list(selectors.dashboard_workflows(user)[:50])
    now = timezone.now()
    rows = [(wf, selectors.workflow_health(wf, now)) for wf in workflows]
    reviews = review_selectors.reviews_due(user, workflows, now)

    context = {
        "awaiting": awaiting_page,
        "awaiting_count": awaiting_count,
        "oldest_waiting_since": oldest,
        "expiring": list(expiring[:LIST_LIMIT]),
        "expiring_count": expiring.count(),
        "reviews": reviews,
        "reviews_overdue": sum(1 for review in reviews if review.overdue),
        "workflow_rows": rows,
        "denials": list(denials[:LIST_LIMIT]),
        "denial_count": denials.count(),
        "my_requests": list(approval_selectors.my_requests(user)[:5]),
        "is_auditor": permissions.is_auditor(user),
        "awaiting_title": "Pending requests" if read_only else "Waiting for your decision",
        "can_request_access": permissions.can_request_access(user),
    }
    return render(request, "governance/dashboard.html", context)
