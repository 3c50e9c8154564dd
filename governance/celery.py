"""The Celery application: one app for the whole project, tasks autodiscovered per app."""

import logging
import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_ready
from kombu.transport import redis as kombu_redis

from . import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

logger = logging.getLogger(__name__)


def guard_redis_channel_close():
    """Keep a worker alive when it loses Redis while tasks are unacknowledged (kombu 5.7).

    On a lost connection the consumer first collects the connection, which detaches its
    transport (`transport.client = None`) after a first close of the channel failed
    against the unreachable server, then closes it again. That second close restores the
    unacknowledged messages through the detached transport, raises AttributeError (not a
    connection error), and the worker exits on an "Unrecoverable error". With the transport
    detached nothing can be restored through it anyway: the messages stay in Redis'
    unacked set and come back after the visibility timeout (and the outbox and the sweeper
    catch up sooner), so the close skips the restore instead of failing.
    """
    close = kombu_redis.Channel.close
    if getattr(close, "mandate_guarded", False):
        return

    def guarded_close(self):
        if self._qos is not None and getattr(self.connection, "client", None) is None:
            logger.warning("broker connection lost: unacknowledged tasks return after the visibility timeout")
            self._qos.restore_at_shutdown = False
        return close(self)

    guarded_close.mandate_guarded = True
    kombu_redis.Channel.close = guarded_close


guard_redis_channel_close()

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
