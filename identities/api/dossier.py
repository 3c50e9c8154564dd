"""The dossier of a workload as one JSON answer, and its timeline page by page."""

from urllib.parse import urlencode

from django.urls import reverse

from governance.dossier import answers


def events_page(request, workload, events, next_before, query):
    """A page of the workload's timeline, with the link to the next page (None at the end)."""
    next_url = None
    if next_before:
        path = reverse("api:workload-identity-events", args=[workload.slug])
        next_url = request.build_absolute_uri(f"{path}?{urlencode(query.as_params(before=next_before))}")
    return {
        "results": [answers.event(record) for record in events],
        "next": next_url,
        "limit": query.limit,
        "filters": query.as_params(before=None, limit=None),
    }


def dossier_answer(request, dossier):
    workload = dossier.workload
    return {
        "workload": answers.identity(workload),
        "active_grants": [answers.grant(grant) for grant in dossier.active_grants],
        "entitlements": [answers.entitlement(entitlement) for entitlement in dossier.entitlements],
        "recent_requests": [answers.access_request(req) for req in dossier.recent_requests],
        "events": events_page(request, workload, dossier.events, dossier.next_before, dossier.query),
        "kill_switch": answers.kill_switch(
            workload, can_manage=dossier.can_manage, can_reactivate=dossier.can_reactivate
        ),
    }
