"""Demo data of the identities app, for `load_demo`. Idempotent by idempotency key."""

from approvals.choices import RequestState
from approvals.services import decide, submit_request
from governance.models import Entitlement, Workflow


def load_owner_grant(command, people):
    """Olivia, owner of the pull-request coding agent, holds read access of her own.

    Deactivating her then shows the leaver cascade: the workflow and its agent pass to
    Bruno, the backup owner, and this grant is revoked.
    """
    request = submit_request(
        workflow=Workflow.objects.get(slug="pr-coding-agent"),
        entitlement=Entitlement.objects.get(scope="github:repo:read"),
        duration_seconds=4 * 3600,
        requested_by=people["olivia"],
        task_ref="PLAT-1450",
        justification="Review the agent's open pull requests.",
        idempotency_key="demo-owner-read",
    )
    if request.state == RequestState.PENDING:
        decide(request, approver=people["bruno"], decision="approve", channel="browser", comment="Review only.")
