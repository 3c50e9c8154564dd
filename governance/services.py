"""State changes of the workflow registry: workflows, entitlements and policies.

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

from . import permissions
from .choices import WorkflowStatus
from .exceptions import IllegalTransition, InvalidInput, NotAllowed
from .models import Entitlement, Policy, Workflow


def validation_error_to_invalid(exc):
    """A Django `ValidationError` as the domain's `InvalidInput`, keeping field messages."""
    if hasattr(exc, "error_dict"):
        fields = {("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
    else:
        fields = {"non_field_errors": list(exc.messages)}
    first_field, messages = next(iter(fields.items()))
    message = messages[0] if first_field == "non_field_errors" else f"{first_field}: {messages[0]}"
    return InvalidInput(message, field_errors=fields)


def save_validated(instance, *, update_fields=None):
    """`full_clean()` then save; validation errors become `InvalidInput`."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise validation_error_to_invalid(exc)
    instance.save(update_fields=update_fields)
    return instance


def apply_changes(instance, changes, allowed):
    unknown = set(changes) - set(allowed)
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}.",
            field_errors={name: ["This field cannot be changed."] for name in sorted(unknown)},
        )
    # A new object has unset foreign keys, which cannot be read: everything is a change.
    changed = [name for name, value in changes.items() if instance._state.adding or getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, changes[name])
    return changed


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
    "status",
)


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

    `by` becomes the control owner unless named otherwise. A person who is not an
    administrator must be the control or backup owner of what they register (otherwise
    they could no longer see or manage it), and only an administrator registers a
    workflow for another control owner.
    """

    if not permissions.can_register_workflow(by):
        raise NotAllowed("You may not register workflows.")
    fields.setdefault("control_owner", by)
    if not permissions.is_admin(by) and by not in (fields["control_owner"], fields.get("backup_owner")):
        raise InvalidInput(
            "Name yourself control owner or backup owner of the workflow you register.",
            field_errors={"control_owner": ["Name yourself control owner or backup owner."]},
        )
    status = fields.get("status", WorkflowStatus.DRAFT)
    if status not in (WorkflowStatus.DRAFT, WorkflowStatus.ACTIVE):
        raise InvalidInput(
            "A new workflow starts as draft or active.", field_errors={"status": ["Choose draft or active."]}
        )
    workflow = Workflow()
    apply_changes(workflow, fields, WORKFLOW_FIELDS)
    workflow.next_review_due = timezone.now() + timedelta(days=workflow.review_cycle_days or 90)
    return save_validated(workflow)


@transaction.atomic
def update_workflow(workflow, *, by, **changes):
    """Change a workflow's registration. Status follows `WORKFLOW_TRANSITIONS`.

    Naming another control owner is for administrators. A shorter review cycle brings the
    next review forward (never back). Leaving `active` ends access at once: active grants
    are revoked and pending requests cancelled, so no grant outlives a suspension.
    """

    workflow = Workflow.objects.select_for_update(no_key=True).get(pk=workflow.pk)
    if not permissions.can_manage_workflow(by, workflow):
        raise NotAllowed("Only the workflow's owners may change it.")
    new_owner = changes.get("control_owner", workflow.control_owner)
    if new_owner != workflow.control_owner and not permissions.can_assign_control_owner(by, workflow):
        raise NotAllowed("Only an administrator may name another control owner.")
    old_status, old_cycle = workflow.status, workflow.review_cycle_days
    changed = apply_changes(workflow, changes, WORKFLOW_FIELDS)
    if workflow.status != old_status and workflow.status not in WORKFLOW_TRANSITIONS[old_status]:
        raise IllegalTransition(
            f"A {WorkflowStatus(old_status).label.lower()} workflow cannot become "
            f"{WorkflowStatus(workflow.status).label.lower()}.",
            field_errors={"status": ["This change of status is not allowed."]},
        )
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


ENTITLEMENT_FIELDS = (
    "target_system",
    "scope",
    "name",
    "description",
    "access_level",
    "sensitivity",
    "max_lifetime_seconds",
)


@transaction.atomic
def create_entitlement(*, by, **fields):
    entitlement = Entitlement()
    apply_changes(entitlement, fields, ENTITLEMENT_FIELDS)
    return save_validated(entitlement)


@transaction.atomic
def update_entitlement(entitlement, *, by, **changes):
    """Change an entitlement; a lower maximum lifetime may not fall under a policy's TTL."""
    entitlement = Entitlement.objects.select_for_update().get(pk=entitlement.pk)
    changed = apply_changes(entitlement, changes, ENTITLEMENT_FIELDS)
    if "max_lifetime_seconds" in changed:
        too_long = entitlement.policies.filter(max_ttl_seconds__gt=entitlement.max_lifetime_seconds)
        if too_long.exists():
            names = ", ".join(sorted(str(p.workflow) for p in too_long.select_related("workflow")))
            raise InvalidInput(
                f"Policies allow longer grants than this ({names}); lower their maximum TTL first.",
                field_errors={"max_lifetime_seconds": [f"Below the maximum TTL of the policies of {names}."]},
            )
    if changed:
        save_validated(entitlement, update_fields=[*changed, "updated_at"])
    return entitlement


POLICY_FIELDS = (
    "workflow",
    "entitlement",
    "approval_mode",
    "max_ttl_seconds",
    "pending_ttl_seconds",
    "reminder_interval_seconds",
    "task_ref_required",
    "justification_required",
)


@transaction.atomic
def create_policy(*, by, **fields):
    """Attach an entitlement to a workflow with the rule that decides its requests."""
    workflow = fields.get("workflow")
    if workflow is not None:
        Workflow.objects.select_for_update(no_key=True).get(pk=workflow.pk)
        if Policy.objects.filter(workflow=workflow, entitlement=fields.get("entitlement")).exists():
            raise InvalidInput(
                "This workflow already has a policy for this entitlement; change that one.",
                field_errors={"entitlement": ["The workflow already has a policy for this entitlement."]},
            )
    policy = Policy()
    apply_changes(policy, fields, POLICY_FIELDS)
    return save_validated(policy)


@transaction.atomic
def update_policy(policy, *, by, **changes):
    """Change how requests are decided; requests in flight keep their snapshot."""
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    for frozen in ("workflow", "entitlement"):
        if frozen in changes and changes[frozen] != getattr(policy, frozen):
            raise InvalidInput(
                f"A policy's {frozen} cannot change; create another policy.",
                field_errors={frozen: ["This field cannot be changed."]},
            )
        changes.pop(frozen, None)
    changed = apply_changes(policy, changes, POLICY_FIELDS)
    if changed:
        save_validated(policy, update_fields=[*changed, "updated_at"])
    return policy
