"""Demo ticket queue for `load_demo`: a local Request Tracker for the PR coding agent.

Runs before the demo requests, so the agent's pending request opens a ticket. The queue is
enabled only when MANDATE_DEMO_RT_URL is set (`tests/peers/rt.sh start` serves RT on
http://127.0.0.1:8089 and prints its token file; MANDATE_DEMO_RT_TOKEN holds the token);
otherwise it is there, disabled, and requests wait in the inbox. RT is polled every 30 s
(the shortest interval): a decision made in RT counts within half a minute.
"""

import os

from approvals.models import QueueConnection
from governance.models import Workflow

POLL_SECONDS = 30


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
            "poll_interval_seconds": POLL_SECONDS,
            "enabled": bool(url),
        },
    )
    Workflow.objects.filter(slug="pr-coding-agent").update(queue=queue)
    if url and not os.environ.get("MANDATE_DEMO_RT_TOKEN"):
        command.stderr.write(
            "MANDATE_DEMO_RT_URL is set but MANDATE_DEMO_RT_TOKEN is not: tickets cannot be opened "
            "(the queue's last error will say so)."
        )
