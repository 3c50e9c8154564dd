"""Settings of the identity sources: OpenID Connect sign-in and LDAP directory sync.

Star-imported by `governance.settings`; every value comes from the environment, and a
half-configured source fails at start-up with the missing names.
"""

from django.core.exceptions import ImproperlyConfigured

from .environment import env, env_secret

# Sign-in with OpenID Connect: off unless the client and the provider's endpoints are set
# (they are in the provider's /.well-known/openid-configuration).
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_RP_CLIENT_SECRET")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
_oidc_required = {
    "OIDC_RP_CLIENT_SECRET": OIDC_RP_CLIENT_SECRET,
    "OIDC_OP_ISSUER": OIDC_OP_ISSUER,
    "OIDC_OP_AUTHORIZATION_ENDPOINT": OIDC_OP_AUTHORIZATION_ENDPOINT,
    "OIDC_OP_TOKEN_ENDPOINT": OIDC_OP_TOKEN_ENDPOINT,
    "OIDC_OP_USER_ENDPOINT": OIDC_OP_USER_ENDPOINT,
    "OIDC_OP_JWKS_ENDPOINT": OIDC_OP_JWKS_ENDPOINT,
}
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
if OIDC_ENABLED and not all(_oidc_required.values()):
    missing = ", ".join(name for name, value in _oidc_required.items() if not value)
    raise ImproperlyConfigured(f"OIDC_RP_CLIENT_ID is set, so sign-in with OpenID Connect also needs {missing}.")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_TOKEN_USE_BASIC_AUTH = env.bool("OIDC_TOKEN_USE_BASIC_AUTH", default=True)
OIDC_USE_PKCE = env.bool("OIDC_USE_PKCE", default=True)
OIDC_TIMEOUT = env.int("OIDC_TIMEOUT_SECONDS", default=10)
OIDC_CREATE_USER = env.bool("OIDC_CREATE_USER", default=True)
# A local account with the same (verified) e-mail is taken over by the IdP's subject only
# when this is on; otherwise sign-in is refused rather than merging two identities.
OIDC_LINK_BY_EMAIL = env.bool("OIDC_LINK_BY_EMAIL", default=False)
OIDC_IDENTITY_SOURCE = env.str("OIDC_IDENTITY_SOURCE", default="sso")
OIDC_LOGIN_LABEL = env.str("OIDC_LOGIN_LABEL", default="Sign in with SSO")
OIDC_AUTHENTICATE_CLASS = "identities.oidc.AuthenticateView"
OIDC_CALLBACK_CLASS = "identities.oidc.CallbackView"

# LDAP directory sync: off unless LDAP_SYNC_URL is set.
LDAP_SYNC_URL = env.str("LDAP_SYNC_URL", default="")
LDAP_SYNC_ENABLED = bool(LDAP_SYNC_URL)
LDAP_SYNC_START_TLS = env.bool("LDAP_SYNC_START_TLS", default=False)
LDAP_SYNC_CA_FILE = env.str("LDAP_SYNC_CA_FILE", default="")
LDAP_SYNC_BIND_DN = env.str("LDAP_SYNC_BIND_DN", default="")
LDAP_SYNC_BIND_PASSWORD = env_secret("LDAP_SYNC_BIND_PASSWORD")
LDAP_SYNC_BASE_DN = env.str("LDAP_SYNC_BASE_DN", default="")
if LDAP_SYNC_ENABLED and not LDAP_SYNC_BASE_DN:
    raise ImproperlyConfigured("LDAP_SYNC_URL is set, so LDAP_SYNC_BASE_DN is needed too.")
LDAP_SYNC_FILTER = env.str("LDAP_SYNC_FILTER", default="(objectClass=inetOrgPerson)")
LDAP_SYNC_SOURCE = env.str("LDAP_SYNC_SOURCE", default="ldap")
LDAP_SYNC_ATTRIBUTES = {
    # Mandate field: directory attribute. An empty attribute name switches the field off.
    "external_id": env.str("LDAP_SYNC_ID_ATTRIBUTE", default="entryUUID"),
    "username": env.str("LDAP_SYNC_USERNAME_ATTRIBUTE", default="uid"),
    "email": env.str("LDAP_SYNC_EMAIL_ATTRIBUTE", default="mail"),
    "first_name": env.str("LDAP_SYNC_FIRST_NAME_ATTRIBUTE", default="givenName"),
    "last_name": env.str("LDAP_SYNC_LAST_NAME_ATTRIBUTE", default="sn"),
    "display_name": env.str("LDAP_SYNC_DISPLAY_NAME_ATTRIBUTE", default="cn"),
    "manager": env.str("LDAP_SYNC_MANAGER_ATTRIBUTE", default="manager"),
    "groups": env.str("LDAP_SYNC_GROUPS_ATTRIBUTE", default="memberOf"),
}
LDAP_SYNC_PAGE_SIZE = env.int("LDAP_SYNC_PAGE_SIZE", default=500)
LDAP_SYNC_TIMEOUT = env.int("LDAP_SYNC_TIMEOUT_SECONDS", default=30)
# A sync that would deactivate more people than this stops without changing anything
# (a wrong base DN or filter looks exactly like everyone leaving). 0 means no limit.
LDAP_SYNC_MAX_DEACTIVATIONS = env.int("LDAP_SYNC_MAX_DEACTIVATIONS", default=25)
