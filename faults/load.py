"""Callers of the live server: HTTP calls that never raise, tallied by outcome."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

TIMEOUT_SECONDS = 30
# An answer slower than this during a fault counts as a hang, not as a clean failure.
HANG_SECONDS = 15


class Tally:
    """Outcomes of many calls: status codes, connection errors, hangs; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = Counter()
        self.errors = Counter()
        self.hangs = 0
        self.samples = []

    def add(self, status, seconds, detail=""):
        with self.lock:
            if isinstance(status, int):
                self.statuses[status] += 1
                if status >= 500 and status != 503 and len(self.samples) < 5:
                    self.samples.append(f"{status}: {detail[:200]}")
            else:
                self.errors[status] += 1
            self.hangs += seconds >= HANG_SECONDS

    @property
    def total(self):
        return sum(self.statuses.values()) + sum(self.errors.values())

    def count(self, low, high=None):
        high = high or low
        return sum(n for status, n in self.statuses.items() if low <= status <= high)

    @property
    def server_errors(self):
        """5xx other than 503: a 503 with Retry-After is the clean answer while something is away."""
        return self.count(500, 599) - self.statuses[503]


def call(session, method, url, tally=None, **kwargs):
    """(status or error name, JSON body or None); recorded in `tally`."""
    started = time.monotonic()
    try:
        response = session.request(method, url, timeout=kwargs.pop("timeout", TIMEOUT_SECONDS), **kwargs)
    except requests.Timeout:
        outcome, body = "timeout", None
    except requests.RequestException as exc:
        outcome, body = type(exc).__name__, None
    else:
        outcome = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
    if tally is not None:
        tally.add(outcome, time.monotonic() - started, str(body))
    return outcome, body


def session_for(key):
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    return session


def in_parallel(func, items, threads=8):
    """`func(item)` for every item on `threads` threads (each with its own session)."""
    local = threading.local()

    def run(item):
        return func(local, item)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, items))
