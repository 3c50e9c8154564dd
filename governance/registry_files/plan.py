"""What applying registry files would change, like `terraform plan`: objects to create,
to update (field by field, old → new) and to retire, each change that widens access
marked with the reason `governance.changes.widening` gives (the same rules the portal
and the API follow), and what already waits as a pending registry change.

Retiring never deletes: a workflow or workload becomes `retired`, a policy `deny` (it
then grants nothing, and its history stays). Entitlements are a shared catalogue and are
never retired by a file. Without `prune`, objects missing from the files are left alone
and listed as unmanaged.
"""

from dataclasses import dataclass, field

from governance.changes.proposals import WORKFLOW_KINDS
from governance.changes.widening import entitlement_widening, policy_widening, workflow_widening
from governance.choices import ApprovalMode, ChangeKind, ChangeState, WorkflowStatus
from governance.models import RegistryChange
from identities.choices import WorkloadStatus
from identities.models import User

from .export import fingerprint, flatten, live_document

KIND_ORDER = ("entitlement", "workflow", "policy", "workload")
ACTION_ORDER = {"create": 0, "update": 1, "retire": 2}
# How each kind is retired, and the value that means it already is.
RETIRED = {
    "workflow": ("status", WorkflowStatus.RETIRED),
    "policy": ("approval_mode", ApprovalMode.DENY),
    "workload": ("status", WorkloadStatus.RETIRED),
}
PEOPLE = ("resource_owner", "control_owner", "backup_owner", "owner")
POLICY_VALUES = (
    "approval_mode",
    "max_ttl_seconds",
    "pending_ttl_seconds",
    "reminder_interval_seconds",
    "task_ref_required",
    "justification_required",
)


@dataclass
class ObjectChange:
    action: str  # create, update, retire
    kind: str
    ref: str
    fields: dict  # name → (old, new)
    widening: dict = field(default_factory=dict)  # name → why it widens access
    pending: dict = field(default_factory=dict)  # name → id of the registry change already waiting
    # name → id of a pending change setting it to another value: the apply is refused (409).
    blocked: dict = field(default_factory=dict)

    @property
    def widens(self):
        return bool(self.widening)

    def as_dict(self):
        return {
            "action": self.action,
            "kind": self.kind,
            "ref": self.ref,
            "fields": [
                {
                    "name": name,
                    "old": old,
                    "new": new,
                    "widens": self.widening.get(name, ""),
                    "pending_change": self.pending.get(name),
                    "blocked_by_change": self.blocked.get(name),
                }
                for name, (old, new) in self.fields.items()
            ],
            "widens": [
                {
                    "field": k,
                    "reason": v,
                    "pending_change": self.pending.get(k),
                    "blocked_by_change": self.blocked.get(k),
                }
                for k, v in self.widening.items()
            ],
        }


@dataclass
class Plan:
    changes: list
    unmanaged: list
    fingerprint: str
    # Who the plan was carried out as through the services (and rolled back); None: only
    # the files were checked (`apply.check_document`).
    checked_as: str | None = None

    @property
    def is_empty(self):
        return not self.changes

    def as_dict(self):
        return {
            "fingerprint": self.fingerprint,
            "empty": self.is_empty,
            "changes": [change.as_dict() for change in self.changes],
            "unmanaged": [{"kind": kind, "ref": ref} for kind, ref in self.unmanaged],
            "widening": sum(1 for change in self.changes if change.widens),
            "checked_as": self.checked_as,
        }


def diff(desired, live, *, prune):
    """(changes, unmanaged) between two flat documents (`export.flatten`)."""
    changes, unmanaged = [], []
    for key, fields in desired.items():
        if key not in live:
            changes.append(ObjectChange("create", *key, {name: (None, value) for name, value in fields.items()}))
            continue
        differ = {name: (live[key].get(name), value) for name, value in fields.items() if live[key].get(name) != value}
        if differ:
            changes.append(ObjectChange("update", *key, differ))
    workflows_in_files = {ref for kind, ref in desired if kind == "workflow"}
    for key, fields in live.items():
        kind, ref = key
        if key in desired or kind == "entitlement":
            continue
        owner_slug = ref.split("/")[0] if kind == "policy" else fields.get("workflow")
        # A policy or workload of a workflow the files do not describe goes with its workflow.
        if kind != "workflow" and owner_slug not in workflows_in_files:
            continue
        name, retired = RETIRED[kind]
        if fields[name] == retired:
            continue
        if prune:
            changes.append(ObjectChange("retire", kind, ref, {name: (fields[name], str(retired))}))
        else:
            unmanaged.append(key)
    changes.sort(key=lambda c: (KIND_ORDER.index(c.kind), ACTION_ORDER[c.action], c.ref))
    return changes, sorted(unmanaged, key=lambda k: (KIND_ORDER.index(k[0]), k[1]))


class Context:
    """What the widening rules and the pending changes need, read once."""

    def __init__(self, desired, live):
        names = {v for objects in (desired, live) for f in objects.values() for k, v in f.items() if k in PEOPLE}
        self.people = dict(User.objects.filter(username__in=names - {None}).values_list("username", "pk"))
        self.desired, self.live = desired, live
        self.pending = list(
            RegistryChange.objects.filter(state=ChangeState.PENDING).select_related("workflow", "entitlement")
        )

    def ids(self, values):
        return {k: (self.people.get(v) if k in PEOPLE and v is not None else v) for k, v in values.items()}

    def value(self, kind, ref, name):
        """The field as the live registry has it, else as the files say (a new object)."""
        return (self.live.get((kind, ref)) or self.desired.get((kind, ref)) or {}).get(name)


def _widening(change, ctx):
    new = {name: value for name, (_old, value) in change.fields.items()}
    if change.kind == "entitlement":
        live = ctx.ids(ctx.live.get(("entitlement", change.ref), {}))
        if change.action == "create":
            start = {"resource_owner": None, **{k: new[k] for k in ("max_lifetime_seconds", "access_level")}}
            return entitlement_widening(start, ctx.ids({"resource_owner": new["resource_owner"]}))
        return entitlement_widening(live, ctx.ids(new))
    if change.kind == "workflow":
        if change.action == "create":
            return workflow_widening(None, {"status": new["status"]})
        return workflow_widening(ctx.ids(ctx.live[("workflow", change.ref)]), ctx.ids(new))
    if change.kind == "policy":
        slug, scope = change.ref.split("/", 1)
        tiers = {"risk_tier": ctx.value("workflow", slug, "risk_tier")}
        level = ctx.value("entitlement", scope, "access_level")
        current = None if change.action == "create" else ctx.live[("policy", change.ref)]
        return policy_widening(current, new, risk_tier=tiers["risk_tier"], access_level=level)
    return {}


def _waiting(change, ctx):
    """({field: change id} for the widening fields a pending registry change already carries,
    {field: change id} for those it sets to another value, which the services refuse)."""
    found, blocked = {}, {}
    slug, _, scope = change.ref.partition("/")
    desired = ctx.ids(ctx.desired.get((change.kind, change.ref), {}))
    for pending in ctx.pending:
        if change.kind == "workflow" and pending.kind in WORKFLOW_KINDS:
            same = pending.workflow is not None and pending.workflow.slug == change.ref
        elif change.kind == "entitlement" and pending.kind == ChangeKind.CHANGE_ENTITLEMENT:
            same = pending.entitlement is not None and pending.entitlement.scope == change.ref
        elif change.kind == "policy" and pending.kind in (ChangeKind.ADD_POLICY, ChangeKind.WIDEN_POLICY):
            same = (
                pending.workflow is not None
                and pending.workflow.slug == slug
                and pending.entitlement is not None
                and pending.entitlement.scope == scope
                and (pending.kind == ChangeKind.WIDEN_POLICY) == (change.action != "create")
            )
        else:
            same = False
        if not same:
            continue
        if pending.kind == ChangeKind.ADD_POLICY:
            same_values = all(pending.changes.get(k) == desired.get(k) for k in POLICY_VALUES)
            (found if same_values else blocked)["entitlement"] = pending.pk
            continue
        for name in change.widening:
            if name in pending.changes:
                (found if pending.changes[name] == desired.get(name) else blocked)[name] = pending.pk
    return found, blocked


def compute_plan(document, *, prune=False, live=None):
    """The `Plan` of applying `document` (canonical data) to the live registry."""
    live = live if live is not None else live_document()
    desired_flat, live_flat = flatten(document), flatten(live)
    changes, unmanaged = diff(desired_flat, live_flat, prune=prune)
    ctx = Context(desired_flat, live_flat)
    for change in changes:
        change.widening = _widening(change, ctx)
        change.pending, change.blocked = _waiting(change, ctx)
    return Plan(changes=changes, unmanaged=unmanaged, fingerprint=fingerprint(live))


def _show(value):
    return "—" if value is None or value == "" else repr(value) if not isinstance(value, str) else value


def _then(change, name):
    if name in change.blocked:
        return f"Refused while change #{change.blocked[name]} waits with another value"
    waiting = change.pending.get(name)
    return f"Pending change #{waiting}" if waiting else "Waits for approval"


def render(plan):
    """The plan as text for a terminal or a pull-request comment."""
    lines = []
    symbols = {"create": "+", "update": "~", "retire": "-"}
    for change in plan.changes:
        lines.append(f"{symbols[change.action]} {change.action} {change.kind} {change.ref}")
        for name, (old, new) in change.fields.items():
            mark = (
                f"   [widens access: {change.widening[name]} {_then(change, name)}.]" if name in change.widening else ""
            )
            shown = _show(new) if change.action == "create" else f"{_show(old)} → {_show(new)}"
            lines.append(f"    {name}: {shown}{mark}")
        for name, reason in change.widening.items():
            if name not in change.fields:
                lines.append(f"    [widens access: {reason} {_then(change, name)}.]")
    for kind, ref in plan.unmanaged:
        lines.append(f"  unmanaged {kind} {ref} (not in the files; kept; --prune retires it)")
    counts = {action: sum(1 for c in plan.changes if c.action == action) for action in ACTION_ORDER}
    widening = sum(1 for c in plan.changes if c.widens)
    waiting = sum(1 for c in plan.changes if c.widens and set(c.widening) <= set(c.pending))
    summary = (
        "No changes: the registry matches the files."
        if plan.is_empty
        else f"Plan: {counts['create']} to create, {counts['update']} to update, {counts['retire']} to retire; "
        f"{widening} widen access and wait for a second person ({waiting} already pending)."
    )
    checked = (
        f"Checked through the services as {plan.checked_as}: they accept every change."
        if plan.checked_as
        else "Not checked through the services: plan --as the person who will apply to check it as apply will."
    )
    lines += ["", summary, checked, f"Fingerprint: {plan.fingerprint}"]
    return "\n".join(lines) + "\n"
