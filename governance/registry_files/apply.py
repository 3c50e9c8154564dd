"""Applying registry files: the plan carried out in one transaction through the registry
services the portal and the API use (`governance.services`, `identities.services`,
`approvals.services`), so validation, evidence, the change log and the four-eyes rule are
the same. What widens access is filed as a pending `RegistryChange` by those services and
applies only when someone other than the applying person approves it; what already waits
is not filed twice.

Every object is tried (each in a savepoint) so one run reports every problem with its
`file:line`; if any failed, nothing is kept. Nothing is deleted: see `plan` for retiring.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction

from approvals.models import QueueConnection
from approvals.services import reactivate_workload, retire_workload, suspend_workload
from governance import permissions as rules
from governance import services
from governance.exceptions import IllegalTransition, MandateError
from governance.models import Entitlement, Policy, RegistryChange, Workflow
from governance.permissions import is_registry_admin, require
from identities.choices import WorkloadStatus
from identities.models import IdentitySource, User, WorkloadIdentity
from identities.services import register_workload, update_workload

from .documents import Problem, RegistryFileError
from .export import fingerprint, live_document
from .models import RegistryApplication
from .plan import compute_plan

RESOLVE = {
    "resource_owner": (User, "username"),
    "control_owner": (User, "username"),
    "backup_owner": (User, "username"),
    "owner": (User, "username"),
    "identity_source": (IdentitySource, "slug"),
    "queue": (QueueConnection, "name"),
}


APPLY_DENIED = "Applying registry files is for the security team (registry administrators)."


class StalePlan(IllegalTransition):
    """The registry changed between the plan and its apply (409)."""

    code = "stale_plan"


@dataclass
class Outcome:
    application: RegistryApplication
    plan: object
    filed: list = field(default_factory=list)  # registry changes filed by this apply
    waiting: list = field(default_factory=list)  # registry changes that already waited

    @property
    def pending(self):
        return [*self.filed, *self.waiting]


def _models(values):
    """File values as the services take them: people, sources and queues as objects."""
    resolved = {}
    for name, value in values.items():
        if name in RESOLVE and value is not None:
            model, key = RESOLVE[name]
            value = model.objects.get(**{key: value})
        resolved[name] = value
    return resolved


def _lock_registry():
    # Held to the end of the transaction, so the fingerprint checked is the state changed.
    # Workloads are left out: authenticating one stamps its row, and must not wait on an apply
    # (each workload service locks its own row before changing it).
    for model in (Workflow, Entitlement, Policy):
        list(model.objects.select_for_update(no_key=True).values_list("pk", flat=True))


def _new_values(change):
    """The new values of a change, without the widening parts that already wait."""
    return {name: new for name, (_old, new) in change.fields.items() if name not in change.pending}


def _proposed(result):
    if getattr(result, "is_registry_change", False):
        return result
    return getattr(result, "proposed_change", None)


def _carry_out(change, by, reason):
    """Apply one object's change through its service (which checks who may, as for the
    portal and the API); the registry change it filed, if any."""
    values = _models(_new_values(change))
    kind, ref = change.kind, change.ref
    if kind == "entitlement":
        if change.action == "create":
            return _proposed(services.create_entitlement(by=by, scope=ref, **values))
        entitlement = Entitlement.objects.get(scope=ref)
        return _proposed(services.update_entitlement(entitlement, by=by, **values)) if values else None
    if kind == "workflow":
        if change.action == "create":
            return _proposed(services.register_workflow(by=by, slug=ref, **values))
        workflow = Workflow.objects.get(slug=ref)
        return _proposed(services.update_workflow(workflow, by=by, **values)) if values else None
    if kind == "policy":
        slug, scope = ref.split("/", 1)
        workflow, entitlement = Workflow.objects.get(slug=slug), Entitlement.objects.get(scope=scope)
        if change.action == "create":
            if "entitlement" in change.pending:
                return None
            return _proposed(services.create_policy(by=by, workflow=workflow, entitlement=entitlement, **values))
        policy = Policy.objects.get(workflow=workflow, entitlement=entitlement)
        return _proposed(services.update_policy(policy, by=by, **values)) if values else None
    return _carry_out_workload(change, values, by, reason)


def _carry_out_workload(change, values, by, reason):
    status = values.pop("status", None)
    workflow = Workflow.objects.get(slug=values.pop("workflow")) if "workflow" in values else None
    if change.action == "create":
        workload = register_workload(by=by, workflow=workflow, slug=change.ref, **values)
    else:
        workload = WorkloadIdentity.objects.select_related("workflow").get(slug=change.ref)
        require(rules.can_change_workload(by, workload), f"You may not change “{workload}”.")
        if workflow is not None:
            values["workflow"] = workflow  # refused by the service: a workload's workflow is for life
        if values:
            update_workload(workload, by=by, **values)
    if status == WorkloadStatus.SUSPENDED and workload.status != status:
        suspend_workload(workload, by=by, reason=reason)
    elif status == WorkloadStatus.RETIRED and workload.status != status:
        retire_workload(workload, by=by, reason=reason)
    elif status == WorkloadStatus.ACTIVE and workload.status == WorkloadStatus.SUSPENDED:
        require(rules.can_reactivate_workload(by, workload), f"Only the owners of “{workload.workflow}” reactivate it.")
        reactivate_workload(workload, by=by, reason=reason)
    elif status == WorkloadStatus.ACTIVE and workload.status == WorkloadStatus.RETIRED:
        raise IllegalTransition(f"Workload “{workload}” is retired; a retired workload never comes back.")
    return None


def _problems(change, document, exc):
    """The service's refusal, at the line of the object (or of each field it names)."""
    file, line = document.location(change.kind, change.ref)
    label = f"{change.kind} {change.ref}"
    fields = {k: v for k, v in getattr(exc, "field_errors", {}).items() if k != "non_field_errors"}
    if not fields:
        return [Problem(file, line, f"{label}: {exc.message}")]
    found = []
    for name, messages in fields.items():
        where_file, where_line = document.location(change.kind, change.ref, name)
        for message in messages if isinstance(messages, list) else [messages]:
            found.append(Problem(where_file, where_line, f"{label}: {name}: {message}"))
    return found


def _carry_out_plan(document, plan, by):
    """Every change of `plan` through its service, each in a savepoint: (the registry changes
    filed, the ids of those that already waited); `RegistryFileError` listing every refusal."""
    files = ", ".join(f["name"] for f in document.files) or "the registry files"
    reason = f"Registry files applied by {by} ({files})."
    problems, filed, waiting_ids = [], [], set()
    for change in plan.changes:
        waiting_ids |= set(change.pending.values())
        try:
            with transaction.atomic():
                proposed = _carry_out(change, by, reason)
        except MandateError as exc:
            problems.extend(_problems(change, document, exc))
            continue
        except ObjectDoesNotExist as exc:
            # What it builds on failed above (its workflow, its entitlement): reported there.
            message = f"{change.kind} {change.ref}: not applied, what it builds on was refused ({exc})"
            problems.append(Problem(*document.location(change.kind, change.ref), message))
            continue
        if proposed is not None and proposed.pk not in waiting_ids and proposed not in filed:
            filed.append(proposed)
    if problems:
        raise RegistryFileError(problems)
    return filed, waiting_ids


def check_document(document, *, by, prune=False):
    """The plan of applying `document` as `by`, checked by carrying it out through the
    services and rolling all of it back: the plan refuses (`RegistryFileError`, each problem
    at its `file:line`) whatever the apply would refuse. Nothing stays, and nothing leaves:
    a rolled-back transaction runs none of its on-commit work (tickets, messages, tasks)."""
    require(is_registry_admin(by), APPLY_DENIED)
    with transaction.atomic():
        _lock_registry()
        plan = compute_plan(document.data, prune=prune)
        _carry_out_plan(document, plan, by)
        plan.checked_as = by.get_username()
        transaction.set_rollback(True)
    return plan


def apply_document(document, *, by, prune=False, plan_fingerprint=None):
    """Apply a `documents.Document` as `by` (a registry administrator); return an `Outcome`.

    Refused with `StalePlan` (409) when `plan_fingerprint` is given and the registry is no
    longer in the state that plan was computed against; with `RegistryFileError` (400)
    listing every problem when any object cannot be applied.
    """
    require(is_registry_admin(by), APPLY_DENIED)
    with transaction.atomic():
        _lock_registry()
        live = live_document()
        plan = compute_plan(document.data, prune=prune, live=live)
        if plan_fingerprint and plan_fingerprint != plan.fingerprint:
            raise StalePlan(
                "The registry changed since this plan was made (in the portal, the API or another apply); "
                "plan again and review the new plan.",
                field_errors={"plan_fingerprint": ["Does not match the registry's current state."]},
            )
        filed, waiting_ids = _carry_out_plan(document, plan, by)
        plan.checked_as = by.get_username()
        waiting = list(RegistryChange.objects.filter(pk__in=waiting_ids).order_by("pk"))
        application = RegistryApplication.objects.create(
            applied_by=by,
            files=document.files,
            document=document.data,
            prune=prune,
            fingerprint_before=plan.fingerprint,
            fingerprint_after=fingerprint(live_document()),
            summary={
                "created": sum(1 for c in plan.changes if c.action == "create"),
                "updated": sum(1 for c in plan.changes if c.action == "update"),
                "retired": sum(1 for c in plan.changes if c.action == "retire"),
                "filed_changes": [c.pk for c in filed],
                "waiting_changes": [c.pk for c in waiting],
            },
        )
    return Outcome(application=application, plan=plan, filed=filed, waiting=waiting)
