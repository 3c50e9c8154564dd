"""The kill switch and its undoing: suspend a workload identity (revoking its grants and
cancelling its pending requests in one step) and reactivate it."""

from django.db import transaction

from governance.exceptions import IllegalTransition, InvalidInput
from identities.choices import WorkloadStatus
from identities.models import WorkloadIdentity

from .. import signals
from ..choices import GrantStatus
from ..models import Grant
from .decisions import cancel_pending_requests_of
from .grants import revoke_each


def suspend_workload(workload, *, by=None, reason):
    """The kill switch: suspend the identity, revoke its grants, cancel its pending requests.

    One call, one audit trail. Suspending a suspended workload revokes anything left.
    """
    return _stop_workload(workload, WorkloadStatus.SUSPENDED, by=by, reason=reason, what="suspended")


def retire_workload(workload, *, by=None, reason):
    """End a workload for good (its history stays): as the kill switch, and it never comes
    back. Retiring a retired workload changes nothing."""
    return _stop_workload(workload, WorkloadStatus.RETIRED, by=by, reason=reason, what="retired")


def _stop_workload(workload, status, *, by, reason, what):
    if not reason or not str(reason).strip():
        raise InvalidInput(f"Say why the workload is {what}.", field_errors={"reason": ["This field is required."]})
    reason = str(reason).strip()
    with transaction.atomic():
        workload = WorkloadIdentity.objects.select_for_update(no_key=True).get(pk=workload.pk)
        if workload.status == WorkloadStatus.RETIRED:
            if status == WorkloadStatus.RETIRED:
                return {"revoked_grants": 0, "cancelled_requests": 0}
            raise IllegalTransition(f"Workload “{workload}” is retired.")
        workload.status = status
        workload.status_reason = reason
        workload.save(update_fields=["status", "status_reason", "updated_at"])
        revoked = revoke_each(
            list(Grant.objects.filter(workload=workload, status=GrantStatus.ACTIVE)),
            by=by,
            reason=f"Workload {what}: {reason}",
        )
        cancelled = cancel_pending_requests_of(workload=workload, by=by, reason=f"Workload {what}: {reason}")
        # A retired workload is stopped as a suspended one is; the event says it is for good.
        said = reason if status == WorkloadStatus.SUSPENDED else f"retired for good: {reason}"
        signals.workload_suspended.send(sender=WorkloadIdentity, workload=workload, reason=said, by=by)
    return {"revoked_grants": revoked, "cancelled_requests": cancelled}


def reactivate_workload(workload, *, by=None, reason=""):
    """Lift a suspension. Nothing is restored: access is requested again.

    Refused (IllegalTransition) unless the workload is suspended and its owner is an
    active person: a workload suspended because its owner left is handed over first.
    """
    reason = str(reason or "").strip() or (f"Reactivated by {by}." if by is not None else "Reactivated.")
    with transaction.atomic():
        workload = WorkloadIdentity.objects.select_for_update(no_key=True).get(pk=workload.pk)
        if workload.status != WorkloadStatus.SUSPENDED:
            raise IllegalTransition(f"Workload “{workload}” is {workload.status}, not suspended.")
        if not workload.owner.is_active:
            raise IllegalTransition(
                f"The owner of “{workload}”, {workload.owner}, is deactivated: hand the workload over to an "
                "active owner before reactivating it."
            )
        workload.status = WorkloadStatus.ACTIVE
        workload.status_reason = reason
        workload.save(update_fields=["status", "status_reason", "updated_at"])
    return workload
