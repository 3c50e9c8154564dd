"""Drift: how the live registry differs from the last applied registry files, and who
changed what since (from the change log, django-auditlog).

A difference that a pending registry change of the apply still carries is not drift: it
is waiting for its approval, and is shown as such.
"""

from dataclasses import dataclass, field

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from governance.models import Entitlement, Policy, Workflow
from identities.models import WorkloadIdentity

from .export import flatten, live_document
from .models import RegistryApplication
from .plan import compute_plan

MODELS = {"entitlement": Entitlement, "workflow": Workflow, "policy": Policy, "workload": WorkloadIdentity}
# The plan's actions, read the other way round: the files are the baseline here.
ACTIONS = {"update": "changed", "create": "missing", "retire": "added"}


@dataclass
class DriftItem:
    kind: str
    ref: str
    state: str  # changed, added (outside the files), missing (not in the registry yet)
    fields: list = field(default_factory=list)  # {name, applied, live, pending_change, changed_by}

    def as_dict(self):
        return {"kind": self.kind, "ref": self.ref, "state": self.state, "fields": self.fields}


@dataclass
class Drift:
    application: RegistryApplication | None
    items: list

    @property
    def has_drift(self):
        return any(f["pending_change"] is None for item in self.items for f in item.fields) or any(
            item.state == "added" for item in self.items
        )

    def as_dict(self):
        application = self.application
        return {
            "applied": None
            if application is None
            else {
                "id": application.pk,
                "by": application.applied_by.username,
                "at": application.applied_at.isoformat(),
                "files": [{"name": f["name"], "sha256": f["sha256"]} for f in application.files],
            },
            "drift": self.has_drift,
            "items": [item.as_dict() for item in self.items],
        }


def _instance(kind, ref):
    if kind == "policy":
        slug, scope = ref.split("/", 1)
        return Policy.objects.filter(workflow__slug=slug, entitlement__scope=scope).first()
    key = "scope" if kind == "entitlement" else "slug"
    return MODELS[kind].objects.filter(**{key: ref}).first()


def changed_by(kind, ref, name, since):
    """[{who, at, old, new}] of the change-log entries that changed `name` after `since`."""
    instance = _instance(kind, ref)
    if instance is None:
        return []
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(MODELS[kind]),
        object_pk=str(instance.pk),
        timestamp__gt=since,
    ).select_related("actor")
    found = []
    for entry in entries.order_by("timestamp"):
        change = entry.changes_dict.get(name)
        if change is None:
            continue
        who = entry.actor.username if entry.actor is not None else "Mandate"
        found.append({"who": who, "at": entry.timestamp.isoformat(), "old": change[0], "new": change[1]})
    return found


def compute_drift():
    """The `Drift` of the live registry from the last applied files."""
    application = RegistryApplication.objects.select_related("applied_by").order_by("-applied_at", "-pk").first()
    if application is None:
        return Drift(application=None, items=[])
    live = live_document()
    plan = compute_plan(application.document, prune=True, live=live)
    live_flat = flatten(live)
    items = []
    for change in plan.changes:
        state = ACTIONS[change.action]
        fields = []
        for name, (live_value, applied) in change.fields.items():
            if change.action == "retire":
                applied, live_value = None, live_flat[(change.kind, change.ref)].get(name)
            pending = change.pending.get(name) or change.pending.get("entitlement")
            fields.append(
                {
                    "name": name,
                    "applied": applied,
                    "live": live_value,
                    "pending_change": pending,
                    "changed_by": [] if pending else changed_by(change.kind, change.ref, name, application.applied_at),
                }
            )
        items.append(DriftItem(kind=change.kind, ref=change.ref, state=state, fields=fields))
    # Plans never retire entitlements (a shared catalogue), but one added outside the files is drift.
    applied_flat = flatten(application.document)
    for kind, ref in sorted(key for key in live_flat if key[0] == "entitlement" and key not in applied_flat):
        who = changed_by(kind, ref, "scope", application.applied_at)
        fields = [{"name": "scope", "applied": None, "live": ref, "pending_change": None, "changed_by": who}]
        items.append(DriftItem(kind=kind, ref=ref, state="added", fields=fields))
    return Drift(application=application, items=items)


def render(drift):
    if drift.application is None:
        return "No registry files have been applied yet: nothing to compare with.\n"
    application = drift.application
    lines = [f"Compared with the files applied by {application.applied_by} at {application.applied_at:%Y-%m-%d %H:%M}."]
    for item in drift.items:
        lines.append(f"{item.state} {item.kind} {item.ref}")
        for f in item.fields:
            if f["pending_change"]:
                lines.append(
                    f"    {f['name']}: applied {f['applied']!r}, live {f['live']!r}, "
                    f"awaiting approval (change #{f['pending_change']})"
                )
                continue
            who = "; ".join(f"{c['who']} at {c['at'][:16]}" for c in f["changed_by"]) or "no change-log entry"
            lines.append(f"    {f['name']}: applied {f['applied']!r}, live {f['live']!r} (changed by {who})")
    lines.append("Drift found." if drift.has_drift else "No drift: the registry is as the files were applied.")
    return "\n".join(lines) + "\n"
