"""Roles that cannot mix, and the security team.

- The **security team** are the registry administrators: superusers and people holding
  `governance.decide_registry_changes` (through a group). They approve activations,
  owners and changes to entitlements without a resource owner.
- An **auditor** reads everything and changes nothing, so an auditor never owns a
  workflow, an entitlement or a workload, never backs one up, never approves and never
  certifies. A **workload** never does any of that either.

Services call `ownership_refusal` before naming anyone owner and `decision_refusal`
before taking anyone's decision; each returns the sentence to refuse with, or None.
"""

from governance.permissions import is_auditor, is_person, is_read_only, is_registry_admin, is_workload

__all__ = ["decision_refusal", "is_registry_admin", "ownership_refusal", "reads_whole_registry"]


def _is_auditor_person(person):
    # A superuser is not "an auditor" here: administrators may own and decide.
    return is_read_only(person)


def ownership_refusal(person, role="owner"):
    """Why `person` may not be named `role` (control owner, backup owner, resource owner,
    workload owner), or None. That an owner is active is the model's own rule."""
    if person is None:
        return None
    role = f"{'an' if role[:1] in 'aeiou' else 'a'} {role}"
    if is_workload(person) or getattr(person, "is_workload", False):
        return f"A workload cannot be {role}; name a person."
    if _is_auditor_person(person):
        return f"{person} is an auditor: auditors read everything and own nothing, so cannot be {role}."
    return None


def decision_refusal(person):
    """Why `person` may never approve, certify or decide anything, or None."""
    if not is_person(person):
        return "Workloads and API keys never approve, certify or decide."
    if _is_auditor_person(person):
        return f"{person} is an auditor: auditors never approve, certify or decide."
    return None


def reads_whole_registry(user):
    """The security team and auditors: who may export the registry as files, plan files
    and see their drift (applying them is the security team's alone: `is_registry_admin`)."""
    return is_auditor(user) or is_registry_admin(user)
