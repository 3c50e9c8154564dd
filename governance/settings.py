"""Mandate settings.

Every knob comes from the environment (strict casts: a bad value fails at start-up);
defaults are the embedded development setup. docs/configuration.md lists every variable.
"""

from django.core.exceptions import ImproperlyConfigured

from .environment import BASE_DIR, VAR_DIR, env, env_secret

DEBUG = env.bool("DEBUG", default=False)
# Demo mode (make run): demo passwords are printed and the console e-mail backend is used.
DEMO_MODE = env.bool("MANDATE_DEMO", default=False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdef")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set (50+ random characters) when DEBUG is off; set DEBUG=true for local development."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base URL used in ticket bodies and e-mails to link back to the portal.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "django_celery_beat",
    "django_htmx",
    "identities.apps.IdentitiesConfig",
    "governance.apps.GovernanceConfig",
    "approvals.apps.ApprovalsConfig",
]

MIDDLEWARE = [
    "governance.metrics.middleware.RequestObservabilityMiddleware",
    "governance.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"
ASGI_APPLICATION = "governance.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "identities.context_processors.sign_in",
                "governance.context_processors.portal",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mandate.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in the embedded setup: WAL lets readers
    # run beside the writer, IMMEDIATE takes the write lock up front so two writers wait
    # for each other instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 30}
    )
elif env.bool("DATABASE_POOL", default=False):
    # psycopg 3's pool (Django 5.1+): each process keeps up to max_size connections open
    # and lends one to each request; no per-request `SELECT 1` as with health checks.
    # Measured with `make bench` (docs/performance.md); size it to the process's threads.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
        "timeout": env.int("DATABASE_POOL_TIMEOUT_SECONDS", default=10),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Persistent connections: measured here, CONN_MAX_AGE=0 cut API throughput to a quarter.
    # Health checks cost a `SELECT 1` per request that reuses a connection.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# Two roles: the app's (DATABASE_URL) and the tables' owner (MIGRATE_DATABASE_URL), who
# migrates; also the settings of the signed evidence checkpoints.
from .settings_trail import *  # noqa: E402,F403

if MIGRATE_DATABASE_URL and AS_DATABASE_OWNER:  # noqa: F405
    DATABASES["default"] = {**DATABASES["default"], **env.db_url("MIGRATE_DATABASE_URL"), "CONN_MAX_AGE": 0}
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # A database that does not answer (restarting, failing over) fails the request within
    # seconds as a 503 with Retry-After (governance/api/exceptions.py), never a hang; with
    # health checks (or the pool's) the next request after it is back reconnects by itself.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=5)
    )
# The authorization check's statements are prepared once per connection on PostgreSQL
# (governance/models/statements.py). Off behind PgBouncer in transaction mode before 1.21.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "identities.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Django's password check behind sign-in throttling (identities/signin.py).
    "identities.signin.ThrottledModelBackend",
    # Inert unless OpenID Connect is configured (OIDC_ENABLED below).
    "identities.oidc.OIDCBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- Cache --------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Internationalisation -----------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- E-mail -------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG or DEMO_MODE
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mandate <mandate@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who hears about escalations and unowned workflows.
SECURITY_CONTACT_EMAIL = env.str("SECURITY_CONTACT_EMAIL", default="security@localhost")
# Where the file e-mail backend (EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend) writes.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))

# --- Security -----------------------------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    # Preloading is a promise to browsers that is slow to undo: the operator opts in.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Health probes come over plain HTTP from the load balancer.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Request limits, sign-in throttling, session lifetime, Content-Security-Policy.
from .settings_security import *  # noqa: E402,F403

# --- REST framework -----------------------------------------------------------------
# Bearer API keys (workload keys and personal access tokens) first, so an unauthenticated
# call gets a 401 with `WWW-Authenticate: Bearer`; the browser's session (with CSRF) after.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["governance.api.permissions.IsActiveCaller"],
    "DEFAULT_FILTER_BACKENDS": [
        "governance.api.strict.StrictFilterBackend",
        "governance.api.strict.StrictOrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "governance.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["governance.api.throttling.PerKeyThrottle"],
    "EXCEPTION_HANDLER": "governance.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "governance.api.schema.MandateAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Requests per caller (API key, else person, else address) and window: "600/min", "20/s".
# The authorization check is on every tool call of every agent, so it has its own budget.
# Counters are atomic in Redis (REDIS_URL, or RATE_LIMIT_REDIS_URL) and shared by every
# web process; without Redis, or while it is down, each process counts for itself.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="1200/min")
API_AUTHORIZE_THROTTLE_RATE = env.str("API_AUTHORIZE_THROTTLE_RATE", default="6000/min")
RATE_LIMIT_REDIS_URL = env.str("RATE_LIMIT_REDIS_URL", default=REDIS_URL)
# How long a rotated API key keeps working beside its replacement (default one day; the
# caller may ask for less, down to 0, or more, up to API_KEY_ROTATION_MAX_GRACE_SECONDS).
API_KEY_ROTATION_GRACE_SECONDS = env.int("API_KEY_ROTATION_GRACE_SECONDS", default=24 * 3600)
API_KEY_ROTATION_MAX_GRACE_SECONDS = env.int("API_KEY_ROTATION_MAX_GRACE_SECONDS", default=7 * 24 * 3600)
SPECTACULAR_SETTINGS = {
    "TITLE": "Mandate API",
    "DESCRIPTION": (
        "Govern AI-assisted workflows and the workload identities that run them. "
        "Authenticate with `Authorization: Bearer <key>` (a workload API key or a personal "
        "access token) or, in the browser, with the session cookie and CSRF token. Every "
        "error has the same JSON shape: `status`, `code`, `message` and `fields` (field "
        "errors, on 400)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Separate request and response components, so read-only fields never appear as inputs.
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "WorkflowStatusEnum": "governance.choices.WorkflowStatus",
        "RiskTierEnum": "governance.choices.RiskTier",
        "WorkloadStatusEnum": "identities.choices.WorkloadStatus",
        "GrantStateEnum": "approvals.choices.GrantStatus",
        "AccessRequestStateEnum": "approvals.filtersets.REQUEST_API_STATES",
        "QueueKindEnum": "approvals.choices.QueueKind",
        "ReviewStateEnum": "governance.choices.CampaignStatus",
        "ReviewItemKindEnum": "governance.choices.ReviewItemKind",
        "ReviewDecisionEnum": "governance.reviews.api.serializers.DECISION_CHOICES",
        "MissedReviewActionEnum": "governance.choices.MissedReviewAction",
        "SensitivityEnum": "governance.choices.Sensitivity",
    },
}

# --- Celery -------------------------------------------------------------------------
from .settings_processes import *  # noqa: E402,F403
from .settings_processes import REDIS_BROKER_SOCKET_OPTIONS  # noqa: E402

# The embedded default broker is kombu's file-system transport: it needs no server, so a
# laptop runs web + worker + beat with nothing else installed. Production uses Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # ETA tasks (grant expiry) may be hours away; above the visibility timeout Redis
    # redelivers them. Expiry is idempotent and the sweeper is the safety net either way.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        **REDIS_BROKER_SOCKET_OPTIONS,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Workers log through LOGGING (JSON lines with the request id) when LOG_FORMAT=json.
CELERY_WORKER_HIJACK_ROOT_LOGGER = env.str("LOG_FORMAT", default="plain") != "json"

# --- Grant tokens -------------------------------------------------------------------
# Encrypts the stored private signing keys; defaults to SECRET_KEY. Set it separately so
# rotating SECRET_KEY does not make the signing keys unreadable (then rotate_signing_key).
SIGNING_KEY_SECRET = env.str("SIGNING_KEY_SECRET", default="")

# --- Logging ------------------------------------------------------------------------
# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request_id, and
# for each request its method, path, route, status, duration_ms and subject).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "governance.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "governance.logs.MandateJsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Access reviews -----------------------------------------------------------------
# A review campaign opens this many days before the workflow's review is due (at most one
# review cycle ahead); reminders follow at 3 days, 1 day and on the due date.
REVIEW_NOTICE_DAYS = env.int("REVIEW_NOTICE_DAYS", default=14)
if not 0 <= REVIEW_NOTICE_DAYS <= 366:
    raise ImproperlyConfigured("REVIEW_NOTICE_DAYS must be between 0 and 366.")

# --- Chat, outbound webhooks and metrics --------------------------------------------
from .settings_integrations import *  # noqa: E402,F403

# --- Auditlog -----------------------------------------------------------------------
# Models are registered explicitly in each app's ready(), with secret fields excluded
# there (password, key_hash, private keys): nothing secret is copied into the change log.
AUDITLOG_INCLUDE_ALL_MODELS = False

# --- Identity sources ---------------------------------------------------------------
# OpenID Connect sign-in and LDAP directory sync, each off unless configured.
from .settings_identity import *  # noqa: E402,F403

# --- Evidence and findings ----------------------------------------------------------
# Raw payloads (prompts, tool arguments, query results) can hold secrets and personal
# data, so only their SHA-256 is kept unless this is switched on.
EVIDENCE_STORE_RAW_PAYLOADS = env.bool("EVIDENCE_STORE_RAW_PAYLOADS", default=False)
# A payload larger than this is refused (send its SHA-256 instead), stored or not.
EVIDENCE_MAX_PAYLOAD_BYTES = env.int("EVIDENCE_MAX_PAYLOAD_BYTES", default=64 * 1024)
# A grant or policy allowing more than this is standing privilege, not just-in-time access.
FINDINGS_STANDING_PRIVILEGE_SECONDS = env.int("FINDINGS_STANDING_PRIVILEGE_SECONDS", default=7 * 24 * 3600)
# An active workload not seen for this many days should be suspended or retired.
FINDINGS_UNUSED_WORKLOAD_DAYS = env.int("FINDINGS_UNUSED_WORKLOAD_DAYS", default=90)
# The outbound stream of OCSF events to the security team's SIEM: empty is off; else
# syslog+tcp://host:port, syslog+tls://host:port or an http(s):// collector URL.
OCSF_STREAM_URL = env.str("OCSF_STREAM_URL", default="")
OCSF_STREAM_NAME = env.str("OCSF_STREAM_NAME", default="siem")
OCSF_STREAM_CA_FILE = env.str("OCSF_STREAM_CA_FILE", default="")  # TLS: trust this CA (else the system's)
OCSF_STREAM_TOKEN = env_secret("OCSF_STREAM_TOKEN")  # HTTP collector: sent as `Authorization: Bearer …`
OCSF_STREAM_BATCH = env.int("OCSF_STREAM_BATCH", default=500)
OCSF_STREAM_TIMEOUT = env.int("OCSF_STREAM_TIMEOUT", default=10)
OCSF_STREAM_ENABLED = bool(OCSF_STREAM_URL)
for _name in (
    "OCSF_STREAM_BATCH",
    "OCSF_STREAM_TIMEOUT",
    "EVIDENCE_MAX_PAYLOAD_BYTES",
    "FINDINGS_STANDING_PRIVILEGE_SECONDS",
    "FINDINGS_UNUSED_WORKLOAD_DAYS",
):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number.")

# --- Demo data ----------------------------------------------------------------------
# Extra load_demo steps from other apps (dotted paths to `step(command, people)`).
DEMO_DATA_STEPS = [
    "approvals.queues.demo.load_ticket_queues",
    "approvals.demo.load_requests_and_grants",
    "governance.reviews.demo.load_reviews",
    # After the reviews: the owner's own grant would otherwise be an item she may not certify.
    "identities.demo.load_owner_grant",
    # Last: agent activity needs the grants; it then verifies the chains and computes findings.
    "governance.evidence.demo.load_agent_activity",
]
