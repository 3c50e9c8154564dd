"""Demo ticket queue for `load_demo`: a local Request Tracker for the PR coding agent.

Runs before the demo requests, so the agent's pending request opens a ticket. The queue is
enabled only when MANDATE_DEMO_RT_URL is set (e.g. `tests/peers/rt.sh start` prints the
URL and the token file); otherwise it is there, disabled, and requests wait in the inbox.
"""

import os

from governance.models import Workflow

from .models import QueueConnection


def load_ticket_queues(command, people):
    url = os.environ.get("MANDATE_DEMO_RT_URL", "")
    queue, _ = QueueConnection.objects.update_or_create(
        name="Local Request Tracker",
        defaults={
            "kind": "rt",
            "base_url": url or "http://127.0.0.1:8089",
            "project": "AccessRequests",
            "credential_ref": "env:MANDATE_DEMO_RT_TOKEN",
            "webhook_secret_ref": "env:MANDATE_DEMO_RT_WEBHOOK_SECRET",
            "poll_interval_seconds": 60,
            "enabled": bool(url),
        },
    )
    Workflow.objects.filter(slug="pr-coding-agent").update(queue=queue)
