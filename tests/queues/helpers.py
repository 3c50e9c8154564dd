"""Shared set-up of the ticket-queue flow tests: a workflow whose approvals go to a queue."""

import json

from django.urls import reverse

from approvals.models import QueueConnection
from approvals.queues.outbox import relay
from approvals.services import submit_request
from tests import factories


def connect(workflow, system):
    config = system.config
    queue = QueueConnection.objects.create(
        name=config.name,
        kind=config.kind,
        base_url=config.base_url,
        project=config.project,
        credential_ref=config.credential_ref,
        webhook_secret_ref=config.webhook_secret_ref,
        options=config.options,
        status_mapping=config.status_mapping,
    )
    workflow.queue = queue
    workflow.save(update_fields=["queue"])
    return queue


def write_request(workflow, requester):
    """A pending write request by a workload the requester runs, acting for the requester."""
    entitlement = factories.EntitlementFactory(scope="github:repo:write", access_level="write")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)
    agent = factories.WorkloadIdentityFactory(workflow=workflow, owner=requester, slug="pr-coding-agent")
    return submit_request(
        workflow=workflow,
        entitlement=entitlement,
        duration_seconds=1800,
        workload=agent,
        on_behalf_of=requester,
        task_ref="PLAT-1234",
        justification="Push the fix for the flaky build",
    )


def deliver_all(rounds=5):
    """Run the relay until nothing is due (what the worker does every few seconds)."""
    for _ in range(rounds):
        if not relay():
            return


def post_webhook(client, queue, headers, body):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.post(
        reverse("ticket_hooks:ticket_webhook", args=[queue.pk]), data=body, content_type="application/json", **extra
    )


def as_json(response):
    return json.loads(response.content)
