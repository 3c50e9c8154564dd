"""Grants: issue, extend (once approved), revoke, expire, and end with their task.

Access ends on time even if every worker is down: `authorize` compares `expires_at`
itself. Celery expires each grant at its `expires_at` (an ETA task scheduled on commit)
and a periodic sweeper (`expiry.expire_due_grants`, in batches) catches whatever the ETA
task missed (lost message, restarted worker, flushed broker). Ending a grant is idempotent.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from governance.dispatch import send_on_commit
from governance.exceptions import IllegalTransition, InvalidInput

from .. import signals
from ..choices import GrantStatus, RequestState
from ..models import AccessRequest, Grant
from ..tokens import mint_token

logger = logging.getLogger(__name__)

EXPIRE_GRANT_TASK = "approvals.expire_grant"


def _schedule_expiry(grant):
    # By name: the task module wraps these services, so importing it would close a circle.
    send_on_commit(
        EXPIRE_GRANT_TASK,
        args=(grant.pk,),
        eta=grant.expires_at,
        catch_up="the sweeper ends grants on time (authorize compares expires_at itself)",
    )


def issue_grant(request, *, now=None):
    """Create the grant for an approved request (or extend the grant it asks to extend).

    Called by the request services inside their transaction. For a workload the grant
    comes with a short-lived signed token, returned once as `request.issued_token`.
    """
    now = now or timezone.now()
    if request.state != RequestState.APPROVED:
        raise IllegalTransition(f"Request #{request.pk} is not approved.")
    if request.extends_id:
        return _apply_extension(request, now)
    starts_at = max(now, request.starts_at) if request.starts_at else now
    grant = Grant.objects.create(
        request=request,
        workflow=request.workflow,
        entitlement=request.entitlement,
        requested_by=request.requested_by,
        workload=request.workload,
        on_behalf_of=request.on_behalf_of,
        task_ref=request.task_ref,
        starts_at=starts_at,
        expires_at=starts_at + timedelta(seconds=request.duration_seconds),
    )
    if grant.workload_id:
        request.issued_token = mint_token(grant)
    signals.grant_issued.send(sender=Grant, grant=grant)
    _schedule_expiry(grant)
    return grant


def _apply_extension(request, now):
    grant = Grant.objects.select_for_update(no_key=True).get(pk=request.extends_id)
    if grant.status != GrantStatus.ACTIVE:
        raise IllegalTransition(f"Grant #{grant.pk} has already ended ({grant.status}); request access again.")
    previous = grant.expires_at
    grant.expires_at = max(previous, now + timedelta(seconds=request.duration_seconds))
    grant.extension_count += 1
    grant.save(update_fields=["expires_at", "extension_count", "updated_at"])
    if grant.workload_id:
        # The old token's exp is the old expiry: a fresh one carries the new lifetime.
        request.issued_token = mint_token(grant)
    signals.grant_extended.send(sender=Grant, grant=grant, previous_expires_at=previous, request=request)
    _schedule_expiry(grant)
    return grant


def _end(grant, status, reason, *, by=None, now=None):
    """End a locked, active grant and cancel extension requests waiting on it."""
    now = now or timezone.now()
    grant.status = status
    grant.ended_at = now
    grant.revoked_by = by if status == GrantStatus.REVOKED else None
    grant.end_reason = reason
    grant.save(update_fields=["status", "ended_at", "revoked_by", "end_reason", "updated_at"])
    signals.grant_ended.send(sender=Grant, grant=grant, reason=reason)
    cancel_pending_extensions(grant.pk, now)


def cancel_pending_extensions(grant_id, now):
    """Cancel the extension requests still waiting on a grant that has ended."""
    pending_extensions = AccessRequest.objects.filter(extends_id=grant_id, state=RequestState.PENDING)
    for extension in pending_extensions.select_for_update():
        extension.state = RequestState.CANCELLED
        extension.decided_at = now
        extension.state_reason = f"Grant #{grant_id} ended before the extension was decided."
        extension.save(update_fields=["state", "decided_at", "state_reason", "updated_at"])
        signals.request_closed.send(sender=AccessRequest, request=extension, reason=extension.state_reason)


def revoke_grant(grant, *, by=None, reason):
    """End a grant now. Revoking a grant that has already ended changes nothing."""
    if not reason or not str(reason).strip():
        raise InvalidInput("Say why the grant is revoked.", field_errors={"reason": ["This field is required."]})
    with transaction.atomic():
        grant = Grant.objects.select_for_update(no_key=True).get(pk=grant.pk)
        if grant.status != GrantStatus.ACTIVE:
            return grant
        _end(grant, GrantStatus.REVOKED, str(reason).strip(), by=by)
        return grant


def expire_grant(grant_id, *, now=None):
    """Expire one grant if it is due. Safe to call any number of times; True if it expired now."""
    now = now or timezone.now()
    with transaction.atomic():
        grant = Grant.objects.select_for_update(no_key=True).filter(pk=grant_id).first()
        if grant is None or grant.status != GrantStatus.ACTIVE or grant.expires_at > now:
            # Gone, already ended, or extended since this task was scheduled.
            return False
        _end(grant, GrantStatus.EXPIRED, "Expired at the end of its lifetime.", now=now)
        return True


def revoke_each(grants, *, by, reason):
    """Revoke each still-active grant in its own transaction; returns how many this call ended."""
    count = 0
    for grant in grants:
        with transaction.atomic():
            locked = Grant.objects.select_for_update(no_key=True).get(pk=grant.pk)
            if locked.status == GrantStatus.ACTIVE:
                _end(locked, GrantStatus.REVOKED, reason, by=by)
                count += 1
    return count


def complete_task(workflow, task_ref, *, by=None, within=None):
    """The task is over: revoke the active grants of (workflow, task_ref). Returns the count.

    `within` narrows the grants to those the caller may end (`permissions.completable_grants`);
    `by` is the person recorded as `revoked_by` (None when a workload ends its own grants).
    """
    if not task_ref or not str(task_ref).strip():
        raise InvalidInput("Name the task to complete.", field_errors={"task_ref": ["This field is required."]})
    grants = Grant.objects.filter(workflow=workflow, task_ref=str(task_ref).strip(), status=GrantStatus.ACTIVE)
    if within is not None:
        grants = grants.filter(pk__in=within.values("pk"))
    return revoke_each(list(grants), by=by, reason=f"Task “{task_ref}” completed.")


def revoke_grants_of(*, workflow=None, person=None, by=None, reason):
    """Revoke every active grant in a workflow, or held by/for a person. Returns the count."""
    grants = Grant.objects.filter(status=GrantStatus.ACTIVE)
    if workflow is not None:
        grants = grants.filter(workflow=workflow)
    if person is not None:
        grants = grants.filter(requested_by=person) | grants.filter(on_behalf_of=person)
    return revoke_each(list(grants), by=by, reason=reason)
