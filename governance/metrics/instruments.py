"""The metrics Mandate counts as things happen. Cheap: an increment is a write to shared memory.

Gauges that describe the database (pending requests, active grants, backlogs…) are not
here: `collector.DatabaseCollector` computes them when Prometheus scrapes.
"""

import os
import socket

from prometheus_client import Counter, Histogram, values

HOST = socket.gethostname()


def process_identifier():
    """This process in the multiprocess directory's file names (`counter_<host>-<pid>.db`).

    The host is part of it because containers sharing one directory (deploy/compose.yaml)
    each number their processes from 1: by pid alone, a web and a worker process would
    write to the same file.
    """
    return f"{HOST}-{os.getpid()}"


# In multiprocess mode each metric writes to a file there from its creation on.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    values.ValueClass = values.MultiProcessValue(process_identifier)

AUTHORIZATION_DECISIONS = Counter(
    "mandate_authorization_decisions",
    "Authorization checks answered, by result (allow or deny).",
    ["result"],
)
REQUEST_DURATION = Histogram(
    "mandate_request_duration_seconds",
    "Time to answer an HTTP request of the REST API, by endpoint (authorize or api), method and status class.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRANTS_ENDED = Counter(
    "mandate_grants_ended",
    "Grants that ended, by cause (expired or revoked).",
    ["cause"],
)
EXPIRY_LAG = Histogram(
    "mandate_grant_expiry_lag_seconds",
    "From a grant's expires_at to the moment it was ended as expired.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
TICKET_ERRORS = Counter(
    "mandate_ticket_errors",
    "Errors answered by ticket systems, by adapter kind and whether a retry can help.",
    ["kind", "permanent"],
)

CREDENTIALS_REFUSED = Counter(
    "mandate_credentials_refused",
    "Machine credentials that failed (API keys, SCIM tokens, webhook and Slack signatures), by "
    "door and by answer: unauthorized (401, counted), throttled (429, the address waits) or "
    "locked (403, until an administrator lifts the lock).",
    ["surface", "answer"],
)


def credential_refused(surface, refusal):
    """Count one failed machine credential at `surface`, with the answer it got (`refusal`:
    None for a plain 401, else the `CredentialRefusal` in force)."""
    answer = "unauthorized" if refusal is None else ("locked" if refusal.locked else "throttled")
    CREDENTIALS_REFUSED.labels(surface=str(surface), answer=answer).inc()


def ticket_error(kind, exc):
    """Count one ticket-system error (`exc` a TicketError: `permanent` says if a retry can help)."""
    TICKET_ERRORS.labels(kind=kind, permanent=str(bool(getattr(exc, "permanent", False))).lower()).inc()
