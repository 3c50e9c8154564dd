"""Sign-in with OpenID Connect (authorization-code flow with PKCE), on mozilla-django-oidc.

People are matched by the provider's subject (`sub`) within the configured identity
source; an account is never merged with a local one by e-mail unless OIDC_LINK_BY_EMAIL
allows it. Everything is inert unless settings.OIDC_ENABLED.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, path
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from governance.exceptions import InvalidInput

from .choices import SourceKind
from .models import User
from .provisioning import PersonRecord, link_person, source_for, upsert_person

logger = logging.getLogger(__name__)


def sign_in_source():
    return source_for(settings.OIDC_IDENTITY_SOURCE, SourceKind.OIDC, name="Single sign-on")


class OIDCBackend(OIDCAuthenticationBackend):
    """Authenticates the callback of the authorization-code flow; inert when OIDC is off."""

    def __init__(self, *args, **kwargs):
        if settings.OIDC_ENABLED:
            super().__init__(*args, **kwargs)
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        if not settings.OIDC_ENABLED:
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        # The library's version returns deactivated people too, which would keep a leaver's
        # session alive; Django's ModelBackend refuses them, and so do we.
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def verify_token(self, token, **kwargs):
        """Check the signature (library), then issuer and audience, which the library skips."""
        payload = super().verify_token(token, **kwargs)
        if payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SuspiciousOperation("ID token from an unexpected issuer.")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token issued for another client.")
        if len(audiences) > 1 and payload.get("azp") != settings.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token with several audiences but another authorised party.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 5.3.2: the UserInfo subject must be the ID token's subject.
        if not claims.get("sub") or claims["sub"] != payload.get("sub"):
            raise SuspiciousOperation("UserInfo subject does not match the ID token.")
        try:
            user = sign_in_person(claims)
        except InvalidInput as exc:
            logger.warning("OIDC sign-in refused for subject %s: %s", claims["sub"], exc.message)
            messages.error(self.request, exc.message)
            return None
        if not user.is_active:
            messages.error(self.request, "Your Mandate account is deactivated. Ask an administrator.")
        return user


def sign_in_person(claims):
    """The person the provider's `claims` describe: matched by subject, else linked or created.

    Raises InvalidInput with a message for the person when sign-in must be refused.
    """
    source = sign_in_source()
    subject = claims["sub"]
    email = (claims.get("email") or "").strip()
    record = PersonRecord(
        external_id=subject,
        username=claims.get("preferred_username") or email.split("@")[0] or subject,
        email=email,
        first_name=claims.get("given_name") or "",
        last_name=claims.get("family_name") or "",
        display_name=claims.get("name") or "",
    )
    known = User.objects.filter(identity_source=source, external_id=subject).first()
    if known is not None:
        # Profile changes are applied; activation is the directory's or an admin's call.
        record.active = known.is_active
        return upsert_person(source, record).user
    if settings.OIDC_LINK_BY_EMAIL and email and claims.get("email_verified") is True:
        local = User.objects.filter(email__iexact=email, external_id="").first()
        if local is not None:
            logger.info("OIDC: linking local account %s to subject %s by verified e-mail", local.pk, subject)
            return link_person(local, source, subject)
    if not settings.OIDC_CREATE_USER:
        raise InvalidInput("You have no Mandate account yet. Ask an administrator to create one.")
    return upsert_person(source, record).user


class AuthenticateView(OIDCAuthenticationRequestView):
    """Starts the sign-in at the provider; 404 while OpenID Connect is not configured."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        return super().dispatch(request, *args, **kwargs)


class CallbackView(OIDCAuthenticationCallbackView):
    """Receives the provider's answer; a refused sign-in goes back to the login page."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        return super().dispatch(request, *args, **kwargs)

    @property
    def failure_url(self):
        try:
            return resolve_url(settings.LOGIN_URL)
        except NoReverseMatch:
            return "/"


# Names are the library's own, which it reverses to build the redirect URI.
urlpatterns = [
    path("authenticate/", AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("callback/", CallbackView.as_view(), name="oidc_authentication_callback"),
]
