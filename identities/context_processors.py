"""Template context for the sign-in page."""

from django.conf import settings
from django.urls import reverse


def sign_in(request):
    """`sso_enabled`, `sso_login_url` and `sso_login_label` for a "Sign in with SSO" button."""
    if not settings.OIDC_ENABLED:
        return {"sso_enabled": False}
    return {
        "sso_enabled": True,
        "sso_login_url": reverse("oidc_authentication_init"),
        "sso_login_label": settings.OIDC_LOGIN_LABEL,
    }
