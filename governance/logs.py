"""Request ids and structured logs.

Every HTTP request gets an id (the caller's `X-Request-ID` when it is a sane token, else
a new one), sent back in `X-Request-ID`, attached to each log record made while the
request runs, and passed in the headers of every Celery task it publishes, so a task's
log lines carry the id of the request that caused them. `LOG_FORMAT=json` writes one
JSON object per line (see `LOGGING` in settings).
"""

import contextvars
import re
import uuid

from pythonjsonlogger.json import JsonFormatter

request_id = contextvars.ContextVar("mandate_request_id", default="")
TASK_HEADER = "mandate_request_id"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(incoming=""):
    """The caller's id when it is a short token (nothing to inject into logs), else a new one."""
    return incoming if incoming and _SANE.match(incoming) else uuid.uuid4().hex


class RequestIdFilter:
    """Adds `request_id` to every record (empty outside a request or task)."""

    def filter(self, record):
        if not getattr(record, "request_id", ""):
            record.request_id = request_id.get()
        return True


class MandateJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id and any extras."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", False)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s", *args, **kwargs)


# --- Celery: the request id travels in the task's message headers -------------------


def stamp_task(headers=None, **kwargs):
    """before_task_publish: put the current request id into the message headers."""
    current = request_id.get()
    if current and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = current


def enter_task(task=None, **kwargs):
    """task_prerun: the task's log records carry the id of the request that published it."""
    incoming = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if incoming is None and task is not None:
        incoming = (getattr(task.request, "headers", None) or {}).get(TASK_HEADER)
    request_id.set(new_request_id(incoming or ""))


def leave_task(**kwargs):
    request_id.set("")
