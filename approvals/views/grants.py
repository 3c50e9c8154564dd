"""The grants pages: active grants with time remaining, revoke with a reason, extend."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from governance import permissions
from governance.permissions import require
from governance.portal import SERVICE_ERRORS, done, error_message, error_status, paginate

from .. import selectors, services
from ..choices import GrantStatus, RequestState
from ..forms import ExtendForm, RevokeForm
from ..models import Grant

GRANT_VIEWS = {"active": "Active", "past": "Ended", "all": "All"}


@login_required
def grant_list(request):
    status = request.GET.get("status") or "active"
    if status not in GRANT_VIEWS:
        raise Http404("No such view.")
    q = request.GET.get("q", "").strip()
    page = paginate(request, selectors.grants_for(request.user, status=status, q=q))
    context = {
        "page": page,
        "status": status,
        "views": GRANT_VIEWS,
        "q": q,
        "revocable_ids": {g.pk for g in page.object_list if permissions.can_revoke_grant(request.user, g)},
    }
    return render(request, "approvals/grant_list.html", context)


def _grant(request, pk):
    grant = get_object_or_404(
        Grant.objects.select_related(*selectors.GRANT_RELATED, "request", "revoked_by"),
        pk=pk,
    )
    if not permissions.can_view_grant(request.user, grant):
        raise Http404("No such grant.")
    return grant


def _limit(grant):
    """The longest extension the policy snapshot allows (the policy decides again anyway)."""
    snapshot = grant.request.policy_snapshot or {}
    limits = [grant.entitlement.max_lifetime_seconds, snapshot.get("max_ttl_seconds")]
    return min(x for x in limits if x)


def _grant_context(request, grant, **extra):
    extensions = grant.extension_requests.select_related("requested_by", "workload").order_by("-created_at")
    return {
        "grant": grant,
        "can_revoke": grant.status == GrantStatus.ACTIVE and permissions.can_revoke_grant(request.user, grant),
        "can_extend": grant.status == GrantStatus.ACTIVE and permissions.can_extend_grant(request.user, grant),
        "revoke_form": extra.pop("revoke_form", None) or RevokeForm(),
        "extend_form": extra.pop("extend_form", None) or ExtendForm(limit=_limit(grant)),
        "extensions": list(extensions[:20]),
        **extra,
    }


@login_required
def grant_detail(request, pk):
    grant = _grant(request, pk)
    return render(request, "approvals/grant_detail.html", _grant_context(request, grant))


@login_required
@require_POST
def grant_revoke(request, pk):
    grant = _grant(request, pk)
    require(permissions.can_revoke_grant(request.user, grant), "Only the workflow's owners or the holder may revoke.")
    form = RevokeForm(request.POST)
    as_row = request.htmx and request.POST.get("fragment") == "row"
    if form.is_valid():
        try:
            grant = services.revoke_grant(grant, by=request.user, reason=form.cleaned_data["reason"])
        except SERVICE_ERRORS as exc:
            notice, status = {"level": "error", "text": error_message(exc)}, error_status(exc)
        else:
            if grant.status == GrantStatus.REVOKED and grant.revoked_by_id == request.user.pk:
                notice, status = {"level": "success", "text": f"Grant #{grant.pk} revoked."}, 200
            else:
                notice, status = {"level": "info", "text": f"Grant #{grant.pk} had already ended."}, 200
            if not request.htmx:
                return done(request, notice["text"], grant.get_absolute_url())
    else:
        notice, status = {"level": "error", "text": "Say why the grant is revoked."}, 400
    grant = _grant(request, pk)
    if as_row:
        context = {"grant": grant, "actions": True, "row_notice": notice, "revocable_ids": set()}
        return render(request, "approvals/includes/grant_row.html", context, status=status)
    context = _grant_context(request, grant, notice=notice, revoke_form=form)
    template = "approvals/_grant_body.html" if request.htmx else "approvals/grant_detail.html"
    return render(request, template, context, status=status)


EXTENDED = {
    RequestState.APPROVED: "Extended: the grant now lasts longer.",
    RequestState.PENDING: "Extension sent for approval.",
    RequestState.DENIED: "The policy denied the extension; the reasons are on the request.",
}


@login_required
@require_POST
def grant_extend(request, pk):
    grant = _grant(request, pk)
    require(permissions.can_extend_grant(request.user, grant), "Only the grant's holder may ask to extend it.")
    form = ExtendForm(request.POST, limit=_limit(grant))
    status = 400
    if form.is_valid():
        try:
            extension = services.extend_grant(
                grant,
                duration_seconds=form.cleaned_data["duration_seconds"],
                justification=form.cleaned_data["justification"],
                requested_by=request.user,
            )
        except SERVICE_ERRORS as exc:
            form.add_error(None, error_message(exc))
            status = error_status(exc)
        else:
            return done(request, EXTENDED[extension.state], extension.get_absolute_url())
    context = _grant_context(request, _grant(request, pk), extend_form=form)
    return render(request, "approvals/grant_detail.html", context, status=status)
