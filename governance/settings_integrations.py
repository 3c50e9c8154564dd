"""Settings of the integrations: Slack, Microsoft Teams, outbound webhooks and the
metrics endpoint; star-imported by `governance.settings`, every value from the environment."""

import ipaddress

from django.core.exceptions import ImproperlyConfigured

from .environment import env

# Slack's Web API (a proxy or a test double may stand in) and the prefix every interaction's
# response_url must have before Mandate posts to it.
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
SLACK_RESPONSE_URL_PREFIX = env.str("SLACK_RESPONSE_URL_PREFIX", default="https://hooks.slack.com/")
# After a webhook secret is rotated, the previous one still signs deliveries this long.
WEBHOOK_SECRET_ROTATION_GRACE_SECONDS = env.int("WEBHOOK_SECRET_ROTATION_GRACE_SECONDS", default=24 * 3600)
# The daily Slack notices go out from this local hour on (0-23).
CHAT_DIGEST_HOUR = env.int("CHAT_DIGEST_HOUR", default=9)
if not 0 <= CHAT_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("CHAT_DIGEST_HOUR must be between 0 and 23.")
if not SLACK_API_URL.endswith("/"):
    raise ImproperlyConfigured("SLACK_API_URL must end with a slash, like https://slack.com/api/.")

# --- Metrics ------------------------------------------------------------------------
# GET /metrics answers a bearer METRICS_TOKEN, or clients in METRICS_ALLOW_FROM (addresses
# or networks, comma-separated; loopback only by default). Behind a proxy, REMOTE_ADDR is
# the proxy's: use the token there. Several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR
# (see docs/operations-metrics.md).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
try:
    METRICS_ALLOW_FROM = [
        ipaddress.ip_network(item.strip(), strict=False)
        for item in env.str("METRICS_ALLOW_FROM", default="127.0.0.1,::1").split(",")
        if item.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"METRICS_ALLOW_FROM: {exc}")
