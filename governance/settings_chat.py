"""Settings of Slack, Microsoft Teams and outbound webhooks; star-imported by
`governance.settings`, every value from the environment."""

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
