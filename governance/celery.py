"""The Celery application: one app for the whole project, tasks autodiscovered per app."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("mandate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def announce_worker(sender=None, **kwargs):
    # Send a heartbeat through the broker at start-up so /healthz turns healthy as soon as
    # the worker can really consume, without waiting for beat's first tick.
    from governance.tasks import heartbeat

    heartbeat.delay()
