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
    if not reason or not str(reason).strip():
        raise InvalidInput("Say why the workload is suspended.", field_errors={"reason": ["This field is required."]})
    reason = str(reason).strip()
    with transaction.atomic():
        workload = WorkloadIdentity.objects.select_for_update(no_key=True).get(pk=workload.pk)
        if workload.status == WorkloadStatus.RETIRED:
            raise IllegalTransition(f"Workload “{workload}” is retired.")
        workload.status = WorkloadStatus.SUSPENDED
        workload.status_reason = reason
        workload.save(update_fields=["status", "status_reason", "updated_at"])
        revoked = revoke_each(
            list(Grant.objects.filter(workload=workload, status=GrantStatus.ACTIVE)),
            by=by,
            reason=f"Workload suspended: {reason}",
        )
        cancelled = cancel_pending_requests_of(workload=workload, by=by, reason=f"Workload suspended: {reason}")
        signals.workload_suspended.send(sender=WorkloadIdentity, workload=workload, reason=reason, by=by)
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
