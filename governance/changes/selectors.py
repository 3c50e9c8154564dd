"""Which registry changes a person may see, and which wait for their decision."""

from django.db.models import Q

from governance.choices import ChangeState
from governance.permissions import is_auditor, is_person, is_registry_admin

from .decisions import can_decide_change
from .models import RegistryChange


def visible_changes(user):
    """Auditors and the security team see every change; others the changes they made, the
    changes of workflows they own and of entitlements they own."""
    changes = RegistryChange.objects.select_related(
        "workflow", "entitlement__resource_owner", "policy", "author", "decided_by"
    )
    if is_auditor(user) or is_registry_admin(user):
        return changes
    if not is_person(user):
        return changes.none()
    return changes.filter(
        Q(author=user)
        | Q(entitlement__resource_owner=user)
        | Q(workflow__control_owner=user)
        | Q(workflow__backup_owner=user)
    ).distinct()


def changes_awaiting(user):
    """Pending changes `user` may decide, oldest first (the inbox)."""
    if not is_person(user):
        return []
    pending = visible_changes(user).filter(state=ChangeState.PENDING).order_by("created_at")
    return [change for change in pending[:200] if can_decide_change(user, change)]
