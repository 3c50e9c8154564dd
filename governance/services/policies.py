"""State changes of policies: add an entitlement to a workflow (a proposed change unless the
policy denies everything), change a policy (narrowing now, widening proposed)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import permissions
from ..changes.proposals import propose, refuse_overlap
from ..changes.widening import policy_widening
from ..choices import ChangeKind
from ..exceptions import IllegalTransition, InvalidInput
from ..models import Entitlement, Policy, Workflow
from .common import apply_changes, reasons_text, save_validated, split, validation_error_to_invalid

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
POLICY_DENIED = "Only the workflow's owners and the security team may change its policies."
POLICY_RULES = ("approval_mode", "max_ttl_seconds", "task_ref_required", "justification_required")


def policy_values(policy):
    return {name: getattr(policy, name) for name in POLICY_RULES}


@transaction.atomic
def create_policy(*, by, **fields):
    """Attach an entitlement to a workflow with the rule that decides its requests.

    Adding an entitlement to a workflow widens access: the policy is checked now and filed
    as a change for the entitlement's resource owner (or the security team); the returned
    `RegistryChange` becomes the policy when approved. A policy that denies every request
    grants nothing and is created at once (and returned).
    """
    workflow = fields.get("workflow")
    if workflow is not None:
        workflow = Workflow.objects.select_for_update(no_key=True).get(pk=workflow.pk)
        permissions.require(permissions.can_manage_policy(by, workflow), POLICY_DENIED)
        if Policy.objects.filter(workflow=workflow, entitlement=fields.get("entitlement")).exists():
            raise InvalidInput(
                "This workflow already has a policy for this entitlement; change that one.",
                field_errors={"entitlement": ["The workflow already has a policy for this entitlement."]},
            )
    policy = Policy()
    apply_changes(policy, fields, POLICY_FIELDS)
    try:
        policy.full_clean()
    except ValidationError as exc:
        raise validation_error_to_invalid(exc)
    widening = policy_widening(
        None, fields, risk_tier=policy.workflow.risk_tier, access_level=policy.entitlement.access_level
    )
    if not widening:
        # Not beside a pending change adding the same entitlement: its approval would fail.
        refuse_overlap(ChangeKind.ADD_POLICY, {}, workflow=policy.workflow, entitlement=policy.entitlement)
        policy.save()
        return policy
    values = {name: getattr(policy, name) for name in POLICY_FIELDS}
    return propose(
        ChangeKind.ADD_POLICY,
        by=by,
        workflow=policy.workflow,
        entitlement=policy.entitlement,
        changes=values,
        before={},
        reasons=list(widening.values()),
        summary=f"Add {policy.entitlement} to {policy.workflow} ({policy.get_approval_mode_display().lower()})",
    )


@transaction.atomic
def update_policy(policy, *, by, **changes):
    """Change how requests are decided; requests in flight keep their snapshot.

    What narrows applies at once; what widens (fewer approvals, a longer maximum, no task
    reference or justification) is filed as a change for the entitlement's resource owner,
    available as `policy.proposed_change`.
    """
    policy = Policy.objects.select_for_update().select_related("workflow", "entitlement").get(pk=policy.pk)
    permissions.require(permissions.can_manage_policy(by, policy.workflow), POLICY_DENIED)
    for frozen in ("workflow", "entitlement"):
        if frozen in changes and changes[frozen] != getattr(policy, frozen):
            raise InvalidInput(
                f"A policy's {frozen} cannot change; create another policy.",
                field_errors={frozen: ["This field cannot be changed."]},
            )
        changes.pop(frozen, None)
    widening = policy_widening(
        policy_values(policy),
        changes,
        risk_tier=policy.workflow.risk_tier,
        access_level=policy.entitlement.access_level,
    )
    now_part, later_part = split(changes, widening)
    if later_part:
        trial = Policy.objects.get(pk=policy.pk)
        apply_changes(trial, changes, POLICY_FIELDS)
        try:
            trial.full_clean()
        except ValidationError as exc:
            raise validation_error_to_invalid(exc)
    policy = apply_policy_change(policy, now_part)
    policy.proposed_change = None
    if later_part:
        policy.proposed_change = propose(
            ChangeKind.WIDEN_POLICY,
            by=by,
            workflow=policy.workflow,
            entitlement=policy.entitlement,
            policy=policy,
            changes=later_part,
            before={name: getattr(policy, name) for name in later_part},
            reasons=list(widening.values()),
            summary=f"{policy}: {reasons_text(widening)}",
        )
    return policy


def apply_policy_change(policy, changes):
    changed = apply_changes(policy, changes, POLICY_FIELDS)
    if changed:
        save_validated(policy, update_fields=[*changed, "updated_at"])
    return policy


def add_policy(values):
    """Create the policy an approved change describes (`values` as stored on the change)."""
    fields = dict(values)
    fields["workflow"] = Workflow.objects.select_for_update(no_key=True).get(pk=fields["workflow"])
    fields["entitlement"] = Entitlement.objects.get(pk=fields["entitlement"])
    if Policy.objects.filter(workflow=fields["workflow"], entitlement=fields["entitlement"]).exists():
        raise IllegalTransition("The workflow has a policy for this entitlement by now; change that one instead.")
    policy = Policy()
    apply_changes(policy, fields, POLICY_FIELDS)
    return save_validated(policy)
