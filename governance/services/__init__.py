"""State changes of the workflow registry: workflows, entitlements and policies.

Writes that widen access are split off and filed as `RegistryChange`s for a second
person (`governance.changes`); the `apply_*` / `add_policy` functions carry out an
approved change.
"""

from .common import apply_changes, check_owners, people_from_json, save_validated, validation_error_to_invalid
from .entitlements import (
    ENTITLEMENT_FIELDS,
    apply_entitlement_change,
    create_entitlement,
    entitlement_values,
    update_entitlement,
)
from .policies import POLICY_FIELDS, add_policy, apply_policy_change, create_policy, policy_values, update_policy
from .workflows import (
    WORKFLOW_FIELDS,
    WORKFLOW_TRANSITIONS,
    apply_workflow_change,
    end_workflow_access,
    register_workflow,
    update_workflow,
    workflow_values,
)

__all__ = [
    "ENTITLEMENT_FIELDS",
    "POLICY_FIELDS",
    "WORKFLOW_FIELDS",
    "WORKFLOW_TRANSITIONS",
    "add_policy",
    "apply_changes",
    "apply_entitlement_change",
    "apply_policy_change",
    "apply_workflow_change",
    "check_owners",
    "create_entitlement",
    "create_policy",
    "end_workflow_access",
    "entitlement_values",
    "people_from_json",
    "policy_values",
    "register_workflow",
    "save_validated",
    "update_entitlement",
    "update_policy",
    "update_workflow",
    "validation_error_to_invalid",
    "workflow_values",
]
