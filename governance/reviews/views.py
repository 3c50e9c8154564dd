"""Access-review pages: the campaigns a person may see, and one campaign with its items to
certify or revoke — each in place (htmx) or many at once.

The review service decides; a refusal (separation of duties, an item already decided, a
closed review) is shown where the person acted, with the service's own words and the
matching HTTP status, never as a 500.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from governance import permissions
from governance.choices import ReviewItemKind, ReviewOutcome
from governance.models import ReviewItem
from governance.portal import SERVICE_ERRORS, error_message, error_status, paginate
from governance.reviews import selectors as review_selectors
from governance.reviews.forms import ReviewDecisionForm
from governance.reviews.services import decide_items, is_own_access

ITEM_RELATED = ("grant", "workload", "policy__entitlement", "owner", "decided_by")


@login_required
def campaign_list(request):
    show = request.GET.get("show") or "open"
    if show not in review_selectors.SHOW:
        raise Http404("No such view.")
    q = request.GET.get("q", "").strip()[:100]
    now = timezone.now()
    page = paginate(request, review_selectors.campaigns_for(request.user, show=show, q=q, now=now))
    context = {
        "page": page,
        "rows": review_selectors.rows(page.object_list, now),
        "show": show,
        "views": review_selectors.SHOW,
        "counts": review_selectors.campaign_counts(request.user, now),
        "q": q,
    }
    return render(request, "governance/review_list.html", context)


def _campaign(request, pk):
    campaigns = permissions.visible_campaigns(request.user).select_related(*review_selectors.CAMPAIGN_RELATED)
    return get_object_or_404(campaigns, pk=pk)


def _body_context(request, campaign, **extra):
    """Everything the campaign body shows: progress, sections of items, who may do what."""
    now = timezone.now()
    user = request.user
    items = list(ReviewItem.objects.filter(campaign=campaign).select_related(*ITEM_RELATED))
    decided = sum(1 for item in items if not item.is_pending)
    can_decide = campaign.is_open and permissions.can_decide_review(user, campaign)
    sections = [(kind, [item for item in items if item.kind == kind]) for kind in ReviewItemKind]
    ended = {item.pk for item in items if item.is_pending and _has_ended(item, now)}
    pending = [item for item in items if item.is_pending and item.pk not in ended]
    return {
        "campaign": campaign,
        "state": review_selectors.campaign_state(campaign, now),
        "sections": [(kind, rows) for kind, rows in sections if rows],
        "decided": decided,
        "total": len(items),
        "percent": round(100 * decided / len(items)) if items else 100,
        "pending_count": len(pending),
        "can_decide": can_decide,
        "own_item_ids": {item.pk for item in pending if is_own_access(item, user)} if can_decide else set(),
        "ended_item_ids": ended,
        "is_read_only": permissions.is_read_only(user),
        # The review's ticket in the workflow's queue, where one was opened.
        "ticket_links": list(campaign.ticket_links.select_related("connection")),
        **extra,
    }


def _has_ended(item, now):
    """A grant or workload under review that ended meanwhile: nothing is left to decide, and
    the deadline sweep settles the item as "ended before review" within minutes."""
    if item.kind == ReviewItemKind.GRANT and item.grant is not None:
        return item.grant.status != "active" or item.grant.expires_at <= now
    if item.kind == ReviewItemKind.WORKLOAD and item.workload is not None:
        return item.workload.status != "active"
    return False


@login_required
@require_http_methods(["GET", "POST"])
def campaign_detail(request, pk):
    campaign = _campaign(request, pk)
    if request.method == "POST":
        return _decide(request, campaign)
    return render(request, "governance/review_campaign.html", _body_context(request, campaign))


def _decide(request, campaign):
    """Certify, revoke or suspend the chosen items through the review service."""
    if not permissions.can_decide_review(request.user, campaign):
        raise PermissionDenied("Only the workflow's owners answer its access review.")
    form = ReviewDecisionForm(request.POST, campaign=campaign)
    # A decision made from an item's own row is answered in that row; bulk ones at the top.
    from_row = request.POST.get("where") == "item"
    chosen = request.POST.getlist("items")
    notice_item = int(chosen[0]) if from_row and len(chosen) == 1 and chosen[0].isdigit() else None
    if not form.is_valid():
        text = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _answer(request, campaign, {"level": "error", "text": text}, notice_item, status=400)
    data = form.cleaned_data
    try:
        items = decide_items(
            campaign, data["items"], by=request.user, decision=data["decision"], comment=data["comment"]
        )
    except SERVICE_ERRORS as exc:
        notice = {"level": "error", "text": error_message(exc)}
        return _answer(request, campaign, notice, notice_item, status=error_status(exc))
    text = _outcome_text(items, data["decision"])
    if not request.htmx:
        messages.success(request, text)
        return redirect(campaign)
    return _answer(request, campaign, {"level": "success", "text": text}, notice_item)


# What a single decision did, said where the person made it.
EFFECTS = {
    (ReviewItemKind.GRANT, ReviewOutcome.REVOKED): "Revoked: the grant has ended.",
    (ReviewItemKind.WORKLOAD, ReviewOutcome.SUSPENDED): "Suspended: its grants ended and its API keys are refused.",
    (ReviewItemKind.POLICY, ReviewOutcome.REVOKED): "Revoked: requests now need the control owner's approval.",
}


def _outcome_text(items, decision):
    if len(items) == 1:
        item = items[0]
        return EFFECTS.get((item.kind, item.outcome), f"{item.get_outcome_display()}.")
    verb = {"certify": "certified", "revoke": "revoked", "suspend": "suspended"}[decision]
    return f"{len(items)} items {verb}."


def _answer(request, campaign, notice, notice_item, status=200):
    """htmx: the campaign body swapped in place, the outcome next to where the person acted.
    A plain browser gets the whole page (errors) — successes were redirected already."""
    campaign = _campaign(request, campaign.pk)  # re-read: it may have completed
    context = _body_context(request, campaign, notice=notice, notice_item=notice_item)
    if notice_item in {item.pk for _kind, rows in context["sections"] for item in rows}:
        context["row_notice"], context["notice"] = notice, None
    template = "governance/reviews/_body.html" if request.htmx else "governance/review_campaign.html"
    return render(request, template, context, status=status)
