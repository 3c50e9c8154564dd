"""The workload's grant token (JWT) as a credential for the authorization check only.

`Authorization: Bearer <jwt>` on `POST /api/v1/authorize`: the token is verified against
the published signing keys (`approvals.tokens.verify_token`); the caller becomes the
workload it names (`request.user` a `WorkloadPrincipal`, `request.auth` the claims), and
the check then also requires the token to be its grant's current one. API keys
(`mdt_…`) fall through to the API-key authentication.
"""

from rest_framework import exceptions

from approvals.tokens import TokenError, verify_token
from governance.api.authentication import ApiKeyAuthentication, bearer_value
from identities.models import WorkloadIdentity
from identities.principals import WorkloadPrincipal
from identities.services import API_KEY_PREFIX


class GrantTokenAuthentication(ApiKeyAuthentication):
    def authenticate(self, request):
        value = bearer_value(request)
        if value is None or value.startswith(API_KEY_PREFIX):
            return None
        try:
            claims = verify_token(value)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(exc.message)
        subject = str(claims.get("sub", ""))
        slug = subject.removeprefix("workload:")
        workload = WorkloadIdentity.objects.filter(slug=slug).first() if subject.startswith("workload:") else None
        if workload is None:
            raise exceptions.AuthenticationFailed("The token names no known workload.")
        return WorkloadPrincipal(workload, credential=claims), claims
