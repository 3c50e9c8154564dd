"""The system under fault: its own PostgreSQL cluster and Redis server, which the suite may
stop, restart and flush without touching anything else on the machine, and gunicorn
(2 processes), 2 Celery workers and beat, started like `make bench` starts its servers.
"""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from glob import glob
from pathlib import Path

import redis
import requests

from bench.servers import ROOT, BenchError, start_gunicorn, start_worker, stop

__all__ = ["ROOT", "FaultsError", "Postgres", "RedisServer", "Stack", "healthz"]


class FaultsError(BenchError):
    """Something failed to start or stop (not an invariant): `make faults` exits non-zero."""


def _as_postgres(argv):
    # initdb and postgres refuse to run as root: the cluster belongs to the postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _pg_bin(name):
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise FaultsError(f"{name} not found: `make faults` starts a PostgreSQL cluster of its own")
    return path


class Postgres:
    """A throwaway cluster in a temporary directory, on its own port."""

    def __init__(self, port):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="mandate-faults-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)

    def init(self):
        subprocess.run(
            _as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"]),
            check=True,
            capture_output=True,
        )
        self.start()

    def _ctl(self, *args):
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        done = subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", *args]),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise FaultsError(f"pg_ctl {' '.join(args)} failed: {done.stderr.strip()} (log: {self.log})")

    def start(self):
        self._ctl("start")

    def stop(self, mode="fast"):
        self._ctl("stop", "-m", mode)

    def ready(self):
        done = subprocess.run([_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"], check=False)
        return done.returncode == 0

    def url(self, database="", user="postgres"):
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def make_roles(self, database, owner, app):
        """The two roles of production and `database` owned by `owner` (bin/ci-database-roles)."""
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "postgres"}
        done = subprocess.run(
            [str(ROOT / "bin" / "ci-database-roles"), database, owner, app],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise FaultsError(f"bin/ci-database-roles failed: {done.stderr.strip()}")

    def destroy(self):
        with contextlib.suppress(FaultsError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A redis-server of the suite's own, without persistence: a restart starts it empty."""

    def __init__(self, port, log_path):
        self.port = port
        self.log_path = log_path
        self.process = None

    def client(self, db=0):
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=2, socket_connect_timeout=2)

    def start(self):
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the process's life)
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(100):
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise FaultsError(f"redis-server did not start on port {self.port}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)  # as a crash: nothing saved, nothing flushed cleanly
            self.process.wait()
        self.process = None

    def flushall(self):
        self.client().flushall()


def healthz(base):
    return requests.get(f"{base}/healthz", timeout=5)


class Stack:
    """gunicorn, workers and beat against the suite's PostgreSQL and Redis."""

    def __init__(self, port, out_dir, redis_server, workers=2):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.out_dir = out_dir
        self.redis = redis_server
        self.web = self.beat = None
        self.workers = [None] * workers

    def start(self):
        self.start_web()
        for n in range(len(self.workers)):
            self.start_worker(n)
        self.start_beat()
        return self

    def start_web(self):
        self.web = start_gunicorn(
            self.port,
            self.out_dir / "gunicorn.log",
            wsgi="governance.wsgi",
            ready=lambda url: healthz(url).ok,
            workers=2,  # the stack: killing one of two leaves one serving
        )

    def start_beat(self):
        self.beat = start_worker(self.out_dir / "beat.log", command="beat")

    def start_worker(self, n):
        self.workers[n] = start_worker(self.out_dir / f"worker{n}.log", name=f"faults{n}")

    def kill_worker(self, n):
        """SIGKILL the worker's whole process group: the main process and its pool."""
        os.killpg(self.workers[n].pid, signal.SIGKILL)
        self.workers[n].wait()

    def web_children(self):
        children = []
        for task in Path(f"/proc/{self.web.pid}/task").iterdir():
            children += [int(pid) for pid in (task / "children").read_text().split()]
        return children

    def alive(self):
        """Which of the processes are still running (a supervisor would restart the others)."""
        named = {"web": self.web, "beat": self.beat}
        named.update({f"worker{n}": process for n, process in enumerate(self.workers)})
        return {name: process is not None and process.poll() is None for name, process in named.items()}

    def stop(self):
        for process in [self.beat, *self.workers, self.web]:
            stop(process)
