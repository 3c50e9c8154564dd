"""Rate limits per caller: per API key, else per person, else per client address.

Counters live in Django's cache: with several web processes set REDIS_URL so they share
one budget. The rates are read from settings on each request, so they can be overridden.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from identities.models import ApiKey


class PerKeyThrottle(SimpleRateThrottle):
    scope = "api"
    setting = "API_THROTTLE_RATE"

    def get_rate(self):
        return getattr(settings, self.setting)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif isinstance(request.auth, dict) and request.auth.get("jti"):
            # A grant token: count against the workload it was issued to.
            ident = f"workload:{request.user.workload.pk}"
        elif request.user and request.user.is_authenticated and request.user.pk is not None:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"


class AuthorizeThrottle(PerKeyThrottle):
    """The authorization check runs before every tool call: a separate, larger budget."""

    scope = "authorize"
    setting = "API_AUTHORIZE_THROTTLE_RATE"
