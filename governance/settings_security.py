"""Settings of the defences: request limits, sign-in throttling, sessions and the
Content-Security-Policy. Star-imported by `governance.settings`; every value from the
environment, and a value that makes no sense fails at start-up.
"""

from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from .environment import env

# --- Request limits -----------------------------------------------------------------
# Checked before any view reads the body (governance/middleware.py): larger is a 413,
# deeper JSON a 400. Evidence batches are the largest bodies (up to 1,000 events).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=10 * 1024 * 1024)
MAX_JSON_DEPTH = env.int("MAX_JSON_DEPTH", default=100)
# Django's own ceiling on a body read into memory follows ours (form posts included).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
if not 2 <= MAX_JSON_DEPTH <= 500:
    # Python's JSON decoder recurses once per level: past ~900 the stack runs out.
    raise ImproperlyConfigured("MAX_JSON_DEPTH must be between 2 and 500.")

# --- Sessions and headers -----------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# A portal session ends this long after sign-in (Django's default is two weeks).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE_SECONDS", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)

# --- Sign-in throttling (identities/signin.py) --------------------------------------
# How many reverse proxies in front of Mandate append to X-Forwarded-For. 0: the client is
# REMOTE_ADDR. Per-address limits (sign-in, API keys, the API's rate) read the address the
# outermost trusted proxy saw; a client can write anything to the left of it.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)
# Per account and per client address: the first failures are free, each further one
# doubles a wait (from SIGN_IN_DELAY_SECONDS up to SIGN_IN_MAX_DELAY_SECONDS) during which
# sign-in is refused without checking the password; at the lockout count the account or
# address is locked for SIGN_IN_LOCKOUT_SECONDS (0: until an administrator lifts it).
SIGN_IN_ACCOUNT_FREE_FAILURES = env.int("SIGN_IN_ACCOUNT_FREE_FAILURES", default=5)
SIGN_IN_ACCOUNT_LOCKOUT_FAILURES = env.int("SIGN_IN_ACCOUNT_LOCKOUT_FAILURES", default=20)
SIGN_IN_ADDRESS_FREE_FAILURES = env.int("SIGN_IN_ADDRESS_FREE_FAILURES", default=20)
SIGN_IN_ADDRESS_LOCKOUT_FAILURES = env.int("SIGN_IN_ADDRESS_LOCKOUT_FAILURES", default=100)
SIGN_IN_DELAY_SECONDS = env.int("SIGN_IN_DELAY_SECONDS", default=1)
SIGN_IN_MAX_DELAY_SECONDS = env.int("SIGN_IN_MAX_DELAY_SECONDS", default=300)
SIGN_IN_LOCKOUT_SECONDS = env.int("SIGN_IN_LOCKOUT_SECONDS", default=3600)
# Failures older than this (after the last one) are forgotten.
SIGN_IN_FAILURE_MEMORY_SECONDS = env.int("SIGN_IN_FAILURE_MEMORY_SECONDS", default=24 * 3600)
# Machine credentials that fail (API keys, SCIM tokens, webhook signatures) per client
# address and window: "30/min", "100/hour". Each burst over it refuses failing credentials
# from that address for a window, then 2, 4… windows; the API_AUTH_FAILURE_LOCKOUT_BURSTS-th
# burst (without a lift or a quiet SIGN_IN_FAILURE_MEMORY_SECONDS between) locks the address
# for failing credentials until an administrator lifts it. Valid ones always pass.
API_AUTH_FAILURE_RATE = env.str("API_AUTH_FAILURE_RATE", default="30/min")
API_AUTH_FAILURE_LOCKOUT_BURSTS = env.int("API_AUTH_FAILURE_LOCKOUT_BURSTS", default=5)
if API_AUTH_FAILURE_LOCKOUT_BURSTS < 1:
    raise ImproperlyConfigured("API_AUTH_FAILURE_LOCKOUT_BURSTS must be at least 1.")
for _name in ("SIGN_IN_ACCOUNT_FREE_FAILURES", "SIGN_IN_ADDRESS_FREE_FAILURES", "SIGN_IN_LOCKOUT_SECONDS"):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must not be negative.")
for _scope in ("ACCOUNT", "ADDRESS"):
    if globals()[f"SIGN_IN_{_scope}_LOCKOUT_FAILURES"] <= globals()[f"SIGN_IN_{_scope}_FREE_FAILURES"]:
        raise ImproperlyConfigured(f"SIGN_IN_{_scope}_LOCKOUT_FAILURES must be above SIGN_IN_{_scope}_FREE_FAILURES.")
if not 1 <= SIGN_IN_DELAY_SECONDS <= SIGN_IN_MAX_DELAY_SECONDS:
    raise ImproperlyConfigured("SIGN_IN_DELAY_SECONDS must be at least 1 and at most SIGN_IN_MAX_DELAY_SECONDS.")

# --- Content-Security-Policy (django-csp) -------------------------------------------
# Scripts only from Mandate itself (htmx is vendored; the portal has no inline script or
# handler); inline style attributes are allowed, styles from elsewhere are not.
# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only.
CSP_REPORT_URI = env.str("CSP_REPORT_URI", default="")
_csp = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
        **({"report-uri": [CSP_REPORT_URI]} if CSP_REPORT_URI else {}),
    }
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp
else:
    CONTENT_SECURITY_POLICY = _csp
