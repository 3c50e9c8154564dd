"""Context every portal page needs: navigation counts and whether single sign-on is on."""

from django.conf import settings

from approvals.selectors import awaiting_decision_by
from governance.permissions import can_recompute_findings
from identities.demo_accounts import DEMO_PASSWORD, PEOPLE


def portal(request):
    context = {"oidc_enabled": bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))}
    if settings.DEMO_MODE:
        context["demo_logins"] = [(username, role) for username, _name, role, _su in PEOPLE]
        context["demo_password"] = DEMO_PASSWORD
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # One COUNT per page for the inbox badge in the navigation.
        context["nav_awaiting_count"] = awaiting_decision_by(user).count()
        # Findings and the alignment report are for auditors and workflow owners.
        context["nav_audit"] = can_recompute_findings(user)
    return context
