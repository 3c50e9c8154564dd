"""gunicorn settings for Mandate: `gunicorn -c deploy/gunicorn.conf.py governance.wsgi`.

With PROMETHEUS_MULTIPROC_DIR set, each worker keeps its counters in files there and
GET /metrics adds them up. The files are named after host and pid
(`counter_<host>-<pid>.db`, governance/metrics/instruments.py). Files this host's processes
left behind (an earlier run) are removed at start, so counters begin again from zero as
after any restart; files of live processes (Celery workers sharing the directory) and of
other hosts (worker containers sharing a volume: deploy/compose.yaml empties it before
the processes start) are kept.
"""

import os
import re
import socket
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
        if _left_behind(re.sub(r"^(counter|histogram|summary|gauge_[a-z]+)_", "", path.stem)):
            path.unlink(missing_ok=True)


def _left_behind(identifier):
    """Whether the process that wrote a file (`<host>-<pid>`, or a bare pid) is a dead one of this host."""
    host, _, pid = identifier.rpartition("-")
    if host and host != socket.gethostname():
        return False
    return not pid.isdigit() or not _alive(int(pid))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(f"{socket.gethostname()}-{worker.pid}")
