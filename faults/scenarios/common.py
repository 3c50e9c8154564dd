"""What several scenarios do: submit access requests, authorize, look at what was made."""

import uuid

from ..load import call, session_for
from ..world import SCOPE, WORKFLOW

# The sweeper runs this often during the run (every 60 s in production).
SWEEP_SECONDS = 10


def submit(local, base, key, task_ref, tally, *, duration=3600, idempotency_key=None, retries=0):
    """One access request for the auto-approved incident agent; (status, body)."""
    if not hasattr(local, "session"):
        local.session = session_for(key)
    body = {
        "workflow": WORKFLOW,
        "entitlement": SCOPE,
        "duration_seconds": duration,
        "on_behalf_of": "rachel",
        "task_ref": task_ref,
        "justification": "Fault suite",
    }
    headers = {"Idempotency-Key": idempotency_key or f"{task_ref}-{uuid.uuid4().hex[:8]}"}
    for _ in range(retries + 1):
        outcome, answer = call(
            local.session, "POST", f"{base}/api/v1/access-requests/", tally, json=body, headers=headers
        )
        if isinstance(outcome, int) and outcome < 500:
            break
    return outcome, answer


def authorize(local, base, key, tally, *, task_ref="faults-authorize"):
    if not hasattr(local, "session"):
        local.session = session_for(key)
    body = {"workflow": WORKFLOW, "scope": SCOPE, "task_ref": task_ref, "resource": "INC-1"}
    return call(local.session, "POST", f"{base}/api/v1/authorize", tally, json=body)


def requests_made(prefix):
    from approvals.models import AccessRequest

    return AccessRequest.objects.filter(task_ref__startswith=prefix)


def duplicates(prefix):
    """Idempotency keys with more than one request behind them (must be none)."""
    from django.db.models import Count

    return (
        requests_made(prefix)
        .exclude(idempotency_key="")
        .values("idempotency_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


def half_made(prefix):
    """Requests approved without a grant, or a grant whose request is not approved."""
    from approvals.models import Grant

    made = requests_made(prefix)
    orphans = made.filter(state="approved", grant__isnull=True).count()
    wrong = Grant.objects.filter(request__in=made).exclude(request__state="approved").count()
    return orphans + wrong


def log_mentions(path, text):
    try:
        return path.read_text(errors="replace").count(text)
    except FileNotFoundError:
        return 0
