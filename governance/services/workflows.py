"""State changes of workflows: register, change (narrowing now, widening proposed), apply an
approved change, end a workflow's access.

Every write validates the whole object (model `clean()` and constraints) and raises
`InvalidInput` with field errors, so the API, the portal and the admin give the same
messages. Who may call what is decided before, by `governance.permissions`.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from approvals.choices import RequestState
from approvals.models import AccessRequest
from approvals.services import cancel_request, revoke_grants_of

from .. import permissions
from ..changes.proposals import propose, refuse_overlap, workflow_kind
from ..changes.widening import OWNER_FIELDS, workflow_widening
from ..choices import ChangeKind, WorkflowStatus
from ..exceptions import IllegalTransition, InvalidInput, NotAllowed
from ..models import Workflow
from .common import apply_changes, check_owners, reasons_text, save_validated, split, validation_error_to_invalid


def workflow_values(workflow):
    return {
        "status": workflow.status,
        "control_owner": workflow.control_owner_id,
        "backup_owner": workflow.backup_owner_id,
        "risk_tier": workflow.risk_tier,
        "missed_review_action": workflow.missed_review_action,
    }


WORKFLOW_FIELDS = (
    "name",
    "slug",
    "business_process",
    "description",
    "control_owner",
    "backup_owner",
    "identity_source",
    "risk_tier",
    "review_cycle_days",
    "review_grace_days",
    "missed_review_action",
    "status",
)
# What a service may set: the form's fields and the ticket queue (set by registry files and
# the admin; the portal form leaves it alone).
WORKFLOW_SETTINGS = (*WORKFLOW_FIELDS, "queue")


# Retired is the end of a workflow's life: its history stays, it never comes back.
WORKFLOW_TRANSITIONS = {
    WorkflowStatus.DRAFT: {WorkflowStatus.ACTIVE, WorkflowStatus.RETIRED},
    WorkflowStatus.ACTIVE: {WorkflowStatus.SUSPENDED, WorkflowStatus.RETIRED},
    WorkflowStatus.SUSPENDED: {WorkflowStatus.ACTIVE, WorkflowStatus.RETIRED},
    WorkflowStatus.RETIRED: set(),
}


@transaction.atomic
def register_workflow(*, by, **fields):
    """Register a workflow; its first review falls one review cycle from now.

    `by` becomes the control owner unless named otherwise. A person outside the security
    team must be the control or backup owner of what they register (otherwise they could
    no longer see or manage it); only the security team registers a workflow for others.
    """

    if not permissions.can_register_workflow(by):
        raise NotAllowed("You may not register workflows.")
    fields.setdefault("control_owner", by)
    if not permissions.is_registry_admin(by) and by not in (fields["control_owner"], fields.get("backup_owner")):
        raise InvalidInput(
            "Name yourself control owner or backup owner of the workflow you register.",
            field_errors={"control_owner": ["Name yourself control owner or backup owner."]},
        )
    status = fields.pop("status", WorkflowStatus.DRAFT)
    if status not in (WorkflowStatus.DRAFT, WorkflowStatus.ACTIVE):
        raise InvalidInput(
            "A new workflow starts as draft or active.", field_errors={"status": ["Choose draft or active."]}
        )
    check_owners(fields)
    workflow = Workflow()
    apply_changes(workflow, fields, WORKFLOW_SETTINGS)
    workflow.next_review_due = timezone.now() + timedelta(days=workflow.review_cycle_days or 90)
    save_validated(workflow)
    workflow.proposed_change = None
    if status == WorkflowStatus.ACTIVE:
        # A new workflow is a draft until someone other than its author activates it.
        workflow.proposed_change = propose_workflow_change(workflow, {"status": status}, by=by)
    return workflow


def propose_workflow_change(workflow, changes, *, by):
    widening = workflow_widening(workflow_values(workflow), changes)
    return propose(
        workflow_kind(widening),
        by=by,
        workflow=workflow,
        changes=changes,
        before={name: getattr(workflow, f"{name}_id" if name.endswith("owner") else name) for name in changes},
        reasons=list(widening.values()),
        summary=f"{workflow}: {reasons_text(widening)}",
    )


@transaction.atomic
def update_workflow(workflow, *, by, **changes):
    """Change a workflow's registration. Status follows `WORKFLOW_TRANSITIONS`.

    Its owners and the security team change it; naming another control owner is for the
    security team. A shorter review cycle brings the
    next review forward (never back). Leaving `active` ends access at once: active grants
    are revoked and pending requests cancelled, so no grant outlives a suspension.
    """

    workflow = Workflow.objects.select_for_update(no_key=True).get(pk=workflow.pk)
    if not permissions.can_change_workflow(by, workflow):
        raise NotAllowed("Only the workflow's owners and the security team may change it.")
    new_owner = changes.get("control_owner", workflow.control_owner)
    if new_owner != workflow.control_owner and not permissions.can_assign_control_owner(by, workflow):
        raise NotAllowed("Only the security team may name another control owner.")
    check_owners(changes)
    unknown = set(changes) - set(WORKFLOW_SETTINGS)
    if unknown:
        apply_changes(workflow, changes, WORKFLOW_SETTINGS)  # raises, naming them
    now_part, later_part = split(changes, workflow_widening(workflow_values(workflow), changes))
    named = {k: v for k, v in now_part.items() if k in OWNER_FIELDS and v != getattr(workflow, k)}
    if named:
        # A draft's owners change at once, but not under the activation that approves them.
        refuse_overlap(ChangeKind.NAME_OWNERS, named, workflow=workflow)
    if later_part.get("status") not in (None, *WORKFLOW_TRANSITIONS[workflow.status]):
        raise_illegal_status(workflow.status, later_part["status"])
    if later_part:
        # Validate the whole result now, so the change that waits is one that can apply.
        trial = Workflow.objects.get(pk=workflow.pk)
        apply_changes(trial, changes, WORKFLOW_SETTINGS)
        try:
            trial.full_clean()
        except ValidationError as exc:
            raise validation_error_to_invalid(exc)
    workflow = apply_workflow_change(workflow, now_part, by=by)
    workflow.proposed_change = propose_workflow_change(workflow, later_part, by=by) if later_part else None
    return workflow


def raise_illegal_status(old_status, new_status):
    raise IllegalTransition(
        f"A {WorkflowStatus(old_status).label.lower()} workflow cannot become "
        f"{WorkflowStatus(new_status).label.lower()}.",
        field_errors={"status": ["This change of status is not allowed."]},
    )


def apply_workflow_change(workflow, changes, *, by):
    """Apply `changes` to a locked workflow: the narrowing part of an edit, or an approved change."""
    old_status, old_cycle = workflow.status, workflow.review_cycle_days
    changed = apply_changes(workflow, changes, WORKFLOW_SETTINGS)
    if workflow.status != old_status and workflow.status not in WORKFLOW_TRANSITIONS[old_status]:
        raise_illegal_status(old_status, workflow.status)
    if "review_cycle_days" in changed and workflow.review_cycle_days < old_cycle and workflow.next_review_due:
        sooner = timezone.now() + timedelta(days=workflow.review_cycle_days)
        if sooner < workflow.next_review_due:
            workflow.next_review_due = sooner
            changed.append("next_review_due")
    if changed:
        save_validated(workflow, update_fields=[*changed, "updated_at"])
    if old_status == WorkflowStatus.ACTIVE and workflow.status != WorkflowStatus.ACTIVE:
        end_workflow_access(workflow, by=by, reason=f"Workflow {workflow.get_status_display().lower()}.")
    return workflow


def end_workflow_access(workflow, *, by=None, reason):
    """Revoke every active grant of the workflow and cancel its pending requests."""
    revoked = revoke_grants_of(workflow=workflow, by=by, reason=reason)
    cancelled = 0
    for request in AccessRequest.objects.filter(workflow=workflow, state=RequestState.PENDING):
        cancel_request(request, by=by, reason=reason)
        cancelled += 1
    return {"revoked_grants": revoked, "cancelled_requests": cancelled}
