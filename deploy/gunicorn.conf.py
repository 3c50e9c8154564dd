"""gunicorn settings for Mandate: `gunicorn -c deploy/gunicorn.conf.py governance.wsgi`.

With PROMETHEUS_MULTIPROC_DIR set, each worker keeps its counters in files there and
GET /metrics adds them up. Files left by processes that are gone (an earlier run) are
removed at start, so counters begin again from zero as after any restart; files of live
processes (Celery workers sharing the directory) are kept.
"""

import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for path in Path(directory).glob("*.db"):
        pid = path.stem.rpartition("_")[2]
        if not pid.isdigit() or not _alive(int(pid)):
            path.unlink(missing_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
