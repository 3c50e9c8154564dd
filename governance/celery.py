"""The Celery application: one app for the whole project, tasks autodiscovered per app."""

import logging
import os

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_ready

from . import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

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
        logging.getLogger(__name__).warning("could not send the start-up heartbeat", exc_info=True)
