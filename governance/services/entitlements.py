"""State changes of entitlements: add one, change one (narrowing now, widening proposed)."""

from django.db import transaction

from .. import permissions
from ..changes.proposals import propose
from ..changes.widening import entitlement_widening
from ..choices import ChangeKind
from ..exceptions import InvalidInput
from ..models import Entitlement
from .common import apply_changes, check_owners, reasons_text, save_validated, split

ENTITLEMENT_FIELDS = (
    "target_system",
    "scope",
    "name",
    "description",
    "access_level",
    "sensitivity",
    "max_lifetime_seconds",
    "mcp_tools",
    "resource_owner",
)


def entitlement_values(entitlement):
    return {
        "resource_owner": entitlement.resource_owner_id,
        "max_lifetime_seconds": entitlement.max_lifetime_seconds,
        "access_level": entitlement.access_level,
    }


@transaction.atomic
def create_entitlement(*, by, **fields):
    """Add an entitlement. It grants nothing until a policy adds it to a workflow; naming
    its resource owner waits for the security team like any naming of an owner."""
    permissions.require(
        permissions.can_create_entitlement(by), "Only workflow owners and the security team add entitlements."
    )
    check_owners(fields, names=("resource_owner",))
    resource_owner = fields.pop("resource_owner", None)
    entitlement = Entitlement()
    apply_changes(entitlement, fields, ENTITLEMENT_FIELDS)
    save_validated(entitlement)
    entitlement.proposed_change = None
    if resource_owner is not None:
        entitlement.proposed_change = propose_entitlement_change(entitlement, {"resource_owner": resource_owner}, by)
    return entitlement


def propose_entitlement_change(entitlement, changes, by):
    widening = entitlement_widening(entitlement_values(entitlement), changes)
    return propose(
        ChangeKind.CHANGE_ENTITLEMENT,
        by=by,
        entitlement=entitlement,
        changes=changes,
        before={name: entitlement_values(entitlement).get(name, getattr(entitlement, name)) for name in changes},
        reasons=list(widening.values()),
        summary=f"{entitlement}: {reasons_text(widening)}",
    )


@transaction.atomic
def update_entitlement(entitlement, *, by, **changes):
    """Change an entitlement; what widens it waits for a second person (see `widening`)."""
    entitlement = Entitlement.objects.select_for_update().get(pk=entitlement.pk)
    permissions.require(
        permissions.can_change_entitlement(by, entitlement),
        "Entitlements are shared by workflows: only the security team may change one.",
    )
    check_owners(changes, names=("resource_owner",))
    now_part, later_part = split(changes, entitlement_widening(entitlement_values(entitlement), changes))
    entitlement = apply_entitlement_change(entitlement, now_part)
    entitlement.proposed_change = propose_entitlement_change(entitlement, later_part, by) if later_part else None
    return entitlement


def apply_entitlement_change(entitlement, changes):
    """Apply `changes` to a locked entitlement; a lower maximum lifetime may not fall under a policy's TTL."""
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
