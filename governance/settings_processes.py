"""Settings of the background processes that keep them going through outages: how workers
and beat hold on to the broker, how long a send from a request may take, the outbox's
retries and the worker heartbeat. Star-imported by `governance.settings` (Celery section).
"""

from datetime import timedelta

from .environment import env

# Added to the Redis transport's options: a broker that stops answering is noticed (socket
# timeouts, a health check) instead of waited on for ever; the worker then reconnects.
REDIS_BROKER_SOCKET_OPTIONS = {
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    "health_check_interval": 25,
    "retry_on_timeout": True,
}
# A broker outage never ends a worker or beat: they wait for it at start-up and reconnect
# for ever afterwards, with backoff. systemd or the container runtime restarts whatever
# exits all the same (deploy/).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 5
# While Redis restarts or fails over it answers errors ("LOADING", "READONLY", "MISCONF":
# channel errors to kombu) as well as dropping connections. Without this a worker meeting
# one while reconnecting calls it an "Unrecoverable error" and exits; with it, it reconnects.
CELERY_BROKER_CHANNEL_ERROR_RETRY = True
# Sends from a state change go through governance.dispatch (one quick retry, then skipped
# while the broker is away); this bounds any other send.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 3, "interval_start": 0, "interval_step": 1, "interval_max": 3}

# The outbox's first retry after a failed delivery, in seconds, doubling each time up to
# the maximum (about nine hours of retries at the defaults, then the message has failed).
OUTBOX_BACKOFF_BASE_SECONDS = env.int("OUTBOX_BACKOFF_BASE_SECONDS", default=30)
OUTBOX_BACKOFF_MAX_SECONDS = env.int("OUTBOX_BACKOFF_MAX_SECONDS", default=3600)

# How old the worker heartbeat may be before /healthz reports the worker (and the service
# as degraded).
HEARTBEAT_INTERVAL = timedelta(seconds=env.int("HEARTBEAT_INTERVAL_SECONDS", default=30))
HEARTBEAT_MAX_AGE = timedelta(seconds=env.int("HEARTBEAT_MAX_AGE_SECONDS", default=120))
