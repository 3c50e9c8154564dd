"""The Celery application: one app for the whole project, tasks autodiscovered per app."""

import logging
import os

import redis
from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_ready
from kombu.transport import redis as kombu_redis

from . import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

logger = logging.getLogger(__name__)


def guard_detached_redis_channels():
    """Keep a worker alive when it loses Redis while tasks are unacknowledged (kombu 5.7).

    After a lost connection the consumer detaches the old transport (`client = None`) and
    reconnects, but the old channel is still used twice: its close restores the
    unacknowledged messages through it, and a task finishing in the pool acknowledges its
    message through it. Both reached kombu's `_connparams`, raised AttributeError (not a
    connection error), and the worker exited on an "Unrecoverable error". A detached channel
    now raises a connection error instead, which kombu and Celery handle: the close goes on,
    the failed acknowledgement is logged, and those messages stay in Redis' unacked set and
    come back after the visibility timeout (tasks are idempotent; the outbox and the
    sweeper catch up sooner).
    """
    connparams = kombu_redis.Channel._connparams
    if getattr(connparams, "mandate_guarded", False):
        return

    def guarded_connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection of this channel was closed")
        return connparams(self, asynchronous=asynchronous)

    guarded_connparams.mandate_guarded = True
    kombu_redis.Channel._connparams = guarded_connparams


guard_detached_redis_channels()

app = Celery("mandate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

before_task_publish.connect(logs.stamp_task, dispatch_uid="mandate.request_id.publish")
task_prerun.connect(logs.enter_task, dispatch_uid="mandate.request_id.prerun")
task_postrun.connect(logs.leave_task, dispatch_uid="mandate.request_id.postrun")


@worker_ready.connect
def announce_worker(sender=None, **kwargs):
    # Send a heartbeat through the broker at start-up so /healthz turns healthy as soon as
    # the worker can really consume, without waiting for beat's first tick.
    from governance.tasks import heartbeat

    try:
        heartbeat.delay()
    except Exception:  # the broker went away again: beat's next heartbeat will do
        logger.warning("could not send the start-up heartbeat", exc_info=True)
