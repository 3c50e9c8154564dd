"""Deciding registry changes: approve (and apply), deny, withdraw.

Who decides (`change_route`): the entitlement's resource owner for adding it to a
workflow, widening its policies or widening the entitlement; the security team
(registry administrators) for activations, owners, risk tiers, resource owners, and
whenever the resource owner cannot decide (none named, inactive, or the author). Never
the author, never a person the change names as owner, never an owner of the workflow it
activates; never an auditor or a workload (`check_can_decide_change`).
"""

from django.db import transaction
from django.utils import timezone

from governance import services
from governance.choices import ChangeKind, ChangeState
from governance.exceptions import IllegalTransition, InvalidInput, NotAllowed
from governance.models import Entitlement, Policy, Workflow
from governance.roles import decision_refusal, is_registry_admin

from .models import RegistryChange
from .signals import registry_change_decided

APPROVE, DENY = "approve", "deny"
RESOURCE_OWNER_KINDS = (ChangeKind.ADD_POLICY, ChangeKind.WIDEN_POLICY, ChangeKind.CHANGE_ENTITLEMENT)
NAMED_FIELDS = ("control_owner", "backup_owner", "resource_owner")


def named_people(change):
    """Ids of the people the change names as owners."""
    return {change.changes[name] for name in NAMED_FIELDS if change.changes.get(name) is not None}


def conflicted(change):
    """Who may not decide `change`: its author, whoever it names, the owners it would activate."""
    ids = {change.author_id, *named_people(change)}
    if change.kind == ChangeKind.ACTIVATE_WORKFLOW and change.workflow_id:
        ids |= {u.pk for u in change.workflow.owners}
    return ids


def change_route(change):
    """The person who decides `change`, or None for the security team."""
    if change.kind not in RESOURCE_OWNER_KINDS or "resource_owner" in change.changes:
        return None
    owner = change.entitlement.resource_owner if change.entitlement_id else None
    if owner is None or not owner.is_active or owner.pk in conflicted(change) or decision_refusal(owner):
        return None
    return owner


def route_label(change):
    owner = change_route(change)
    return f"{owner} (resource owner of {change.entitlement})" if owner else "the security team"


def check_can_decide_change(change, person):
    """Raise NotAllowed unless `person` may approve or deny `change`."""
    refusal = decision_refusal(person)
    if refusal:
        raise NotAllowed(refusal)
    if person.pk == change.author_id:
        raise NotAllowed("Nobody approves their own registry change: someone other than its author decides it.")
    if person.pk in named_people(change):
        raise NotAllowed("This change names you as an owner, so someone else decides it.")
    if person.pk in conflicted(change):
        raise NotAllowed(f"You own “{change.workflow}”, so someone else approves its activation.")
    owner = change_route(change)
    if owner is not None and person.pk != owner.pk:
        raise NotAllowed(f"{owner}, the resource owner of {change.entitlement}, decides this change.")
    if owner is None and not is_registry_admin(person):
        raise NotAllowed("The security team (registry administrators) decides this change.")


def can_decide_change(person, change):
    try:
        check_can_decide_change(change, person)
    except NotAllowed:
        return False
    return change.is_pending


def _lock(change):
    return (
        RegistryChange.objects.select_for_update(of=("self",))
        .select_related("workflow", "entitlement__resource_owner", "policy", "author")
        .get(pk=change.pk)
    )


def _still_as_proposed(change, current):
    """Refuse to apply a change whose starting point moved meanwhile (409)."""
    moved = sorted(name for name, old in change.before.items() if current.get(name) != old)
    if moved:
        raise IllegalTransition(
            f"{', '.join(moved)} changed since this was proposed; deny it and propose the change again."
        )


def apply_change(change, *, by):
    """Carry out an approved change, under the locks of what it changes."""
    values = services.people_from_json(change.changes)
    if change.kind == ChangeKind.ADD_POLICY:
        change.policy = services.add_policy(change.changes)
    elif change.kind == ChangeKind.WIDEN_POLICY:
        policy = Policy.objects.select_for_update(no_key=True).get(pk=change.policy_id)
        _still_as_proposed(change, services.policy_values(policy))
        services.apply_policy_change(policy, values)
    elif change.kind == ChangeKind.CHANGE_ENTITLEMENT:
        entitlement = Entitlement.objects.select_for_update(no_key=True).get(pk=change.entitlement_id)
        _still_as_proposed(change, services.entitlement_values(entitlement))
        services.apply_entitlement_change(entitlement, values)
    else:
        workflow = Workflow.objects.select_for_update(no_key=True).get(pk=change.workflow_id)
        _still_as_proposed(change, services.workflow_values(workflow))
        services.check_owners({"control_owner": workflow.control_owner, "backup_owner": workflow.backup_owner})
        services.apply_workflow_change(workflow, values, by=by)


def decide_change(change, *, by, decision, comment=""):
    """Approve (the change applies in the same transaction) or deny a pending change."""
    if decision not in (APPROVE, DENY):
        raise InvalidInput(f"Unknown decision “{decision}”.", field_errors={"decision": ["Must be approve or deny."]})
    comment = (comment or "").strip()
    if decision == DENY and not comment:
        raise InvalidInput("Say why: a denial needs a comment.", field_errors={"comment": ["This field is required."]})
    with transaction.atomic():
        change = _lock(change)
        if not change.is_pending:
            raise IllegalTransition(f"Change #{change.pk} is {change.get_state_display().lower()}, not pending.")
        check_can_decide_change(change, by)
        if decision == APPROVE:
            apply_change(change, by=by)
        change.state = ChangeState.APPROVED if decision == APPROVE else ChangeState.DENIED
        _close(change, by, comment)
    return change


def cancel_change(change, *, by, comment=""):
    """Withdraw a pending change: its author or the security team. Idempotent when withdrawn."""
    with transaction.atomic():
        change = _lock(change)
        if change.state == ChangeState.CANCELLED:
            return change
        if not change.is_pending:
            raise IllegalTransition(f"Change #{change.pk} is {change.get_state_display().lower()}, not pending.")
        if by.pk != change.author_id and not is_registry_admin(by):
            raise NotAllowed("Only the author or the security team withdraws a registry change.")
        change.state = ChangeState.CANCELLED
        # The database keeps the decider apart from the author; a withdrawal is the author's own act.
        _close(change, None if by.pk == change.author_id else by, comment)
    return change


def _close(change, by, comment):
    change.decided_by = by
    change.decided_at = timezone.now()
    change.comment = comment or ""
    change.save(update_fields=["state", "decided_by", "decided_at", "comment", "policy", "updated_at"])
    registry_change_decided.send(sender=RegistryChange, change=change)
