"""gunicorn's processes SIGKILLed while they answer access requests.

Callers submit with an Idempotency-Key and retry a call that got no answer with the same
key, as the Python client does. A request, its grant and its evidence are made in one
transaction: a process killed mid-request leaves either all of them or none, and the
retry never makes a second request.
"""

import os
import signal
import subprocess
import sys
import threading
import time

from ..load import Tally, in_parallel
from ..report import info, must_be_zero
from ..stack import ROOT
from .common import duplicates, half_made, requests_made, submit

NAME = "web process killed mid-request"
PREFIX = "faults-web-"


def run(world):
    count, kills = world.scale(200, 1000), world.scale(4, 12)
    key = world.keys["incident-enricher"]
    tally = Tally()
    stop = threading.Event()
    killed = []

    def killer():
        while not stop.is_set() and len(killed) < kills:
            time.sleep(0.7)
            for pid in world.stack.web_children()[:1]:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    answered = []

    def one(local, n):
        outcome, body = submit(local, world.base, key, f"{PREFIX}{n}", tally, idempotency_key=f"{PREFIX}{n}", retries=5)
        if outcome in (200, 201):
            answered.append(body["id"])

    in_parallel(one, range(count), threads=6)
    stop.set()
    thread.join()
    made = requests_made(PREFIX)
    verified = subprocess.run(
        [sys.executable, "manage.py", "verify_evidence", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    return [
        info(NAME, "submissions / web processes killed", f"{count} / {len(killed)}"),
        info(NAME, "calls cut off (retried with the same key)", sum(tally.errors.values())),
        must_be_zero(NAME, "half-made requests or grants", half_made(PREFIX)),
        must_be_zero(NAME, "requests made twice", duplicates(PREFIX)),
        must_be_zero(NAME, "submissions never answered after retries", count - len(set(answered))),
        must_be_zero(
            NAME, "answered but not in the database", len(set(answered) - set(made.values_list("pk", flat=True)))
        ),
        must_be_zero(NAME, "evidence chains that do not verify (exit code)", verified.returncode),
    ]
