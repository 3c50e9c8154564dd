"""State changes of the workflow registry: registering and editing workflows.

Views and the API call these; they validate with the model's own rules, lock the row they
change and raise the domain errors of `governance.exceptions`.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import permissions
from .choices import WorkflowStatus
from .exceptions import IllegalTransition, InvalidInput, NotAllowed
from .models import Workflow

# Fields a person may set on a workflow through the registry.
EDITABLE_FIELDS = (
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


def _validate(workflow, exclude=()):
    try:
        workflow.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        field_errors = {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        first = next(iter(field_errors.values()))[0]
        raise InvalidInput(first, field_errors=field_errors)


def _check_fields(fields):
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown workflow fields: {', '.join(sorted(unknown))}.")


@transaction.atomic
def create_workflow(*, by, **fields):
    """Register a workflow; its first review falls one review cycle from now.

    A person who is not an administrator must name themselves control or backup owner:
    otherwise they would register something they could no longer see or manage.
    """
    if not permissions.can_register_workflow(by):
        raise NotAllowed("You may not register workflows.")
    _check_fields(fields)
    workflow = Workflow(**fields)
    if not permissions.is_admin(by) and by.pk not in (workflow.control_owner_id, workflow.backup_owner_id):
        raise InvalidInput(
            "Name yourself control owner or backup owner of the workflow you register.",
            field_errors={"control_owner": ["Name yourself control owner or backup owner."]},
        )
    if workflow.status not in (WorkflowStatus.DRAFT, WorkflowStatus.ACTIVE):
        raise InvalidInput(
            "A new workflow starts as draft or active.", field_errors={"status": ["Choose draft or active."]}
        )
    _validate(workflow)
    workflow.next_review_due = timezone.now() + timedelta(days=workflow.review_cycle_days)
    workflow.save()
    return workflow


@transaction.atomic
def update_workflow(workflow, *, by, **changes):
    """Change a workflow's registry fields. Status follows `WORKFLOW_TRANSITIONS`.

    A shorter review cycle brings the next review forward (never back): shortening the
    cycle of a high-risk workflow should not wait for the old, longer date.
    """
    _check_fields(changes)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if not permissions.can_manage_workflow(by, workflow):
        raise NotAllowed("Only the workflow's owners may change it.")
    old_status, old_cycle = workflow.status, workflow.review_cycle_days
    for field, value in changes.items():
        setattr(workflow, field, value)
    if workflow.status != old_status and workflow.status not in WORKFLOW_TRANSITIONS[old_status]:
        raise IllegalTransition(
            f"A {WorkflowStatus(old_status).label.lower()} workflow cannot become "
            f"{WorkflowStatus(workflow.status).label.lower()}.",
            field_errors={"status": ["This change of status is not allowed."]},
        )
    _validate(workflow)
    if workflow.review_cycle_days < old_cycle and workflow.next_review_due:
        sooner = timezone.now() + timedelta(days=workflow.review_cycle_days)
        workflow.next_review_due = min(workflow.next_review_due, sooner)
    workflow.save()
    return workflow
