"""Registry changes in the portal: one change with its decision, for the person who decides it."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from governance.changes.decisions import APPROVE, DENY, can_decide_change, cancel_change, decide_change, route_label
from governance.changes.selectors import visible_changes
from governance.portal import SERVICE_ERRORS, done, error_message, error_status

ACTIONS = {"approve": APPROVE, "deny": DENY, "cancel": "cancel"}


@login_required
@require_http_methods(["GET", "POST"])
def change_detail(request, pk):
    change = visible_changes(request.user).filter(pk=pk).first()
    if change is None:
        raise Http404("No such registry change.")
    status, error = 200, ""
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        comment = request.POST.get("comment", "")
        try:
            if action == "cancel":
                cancel_change(change, by=request.user, comment=comment)
            elif action:
                decide_change(change, by=request.user, decision=action, comment=comment)
            else:
                raise Http404("No such action.")
        except SERVICE_ERRORS as exc:
            status, error = error_status(exc), error_message(exc)
        else:
            verb = {"approve": "approved and applied", "deny": "denied", "cancel": "withdrawn"}[action]
            return done(request, f"Registry change #{change.pk} {verb}.", change.get_absolute_url())
        change = visible_changes(request.user).get(pk=pk)
    context = {
        "change": change,
        "decided_by_whom": route_label(change),
        "can_decide": can_decide_change(request.user, change),
        "can_cancel": change.is_pending and change.author_id == request.user.pk,
        "ticket_links": list(change.ticket_links.select_related("connection")),
        "error": error,
    }
    return render(request, "governance/change_detail.html", context, status=status)
