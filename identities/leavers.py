"""Leavers and returners: what happens to a person's access and responsibilities.

When a person is deactivated (by the directory sync, by SCIM or by hand), one service
call, in one transaction, leaves nothing running on their authority:
- workloads they own pass to their workflow's active backup owner, or are suspended
  (the kill switch: their grants revoked, their pending requests cancelled);
- workflows they control pass to the backup owner, or become unowned (no control owner,
  status suspended, which the policy engine denies) and the security contact is told;
- they stop being anyone's backup owner;
- their own grants (held by them or by a workload acting for them) are revoked and their
  pending requests cancelled.
Every change is saved through the models (so django-auditlog records it) and announced
by the signals in `identities.signals` for the workflows' evidence. Coming back restores
nothing: access is requested again.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from approvals.services import cancel_pending_requests_of, revoke_grants_of, suspend_workload
from governance.choices import WorkflowStatus
from governance.exceptions import InvalidInput
from governance.models import Workflow

from . import signals
from .choices import WorkloadStatus
from .models import User, WorkloadIdentity

logger = logging.getLogger(__name__)


def deactivate_person(user, *, by=None, reason):
    """Switch a person off and hand over or stop everything that depends on them.

    `by` is the person who decided (None when an identity source did). Returns a summary
    dict of what was done. Deactivating an inactive person changes nothing.
    """

    reason = str(reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the person is deactivated.", field_errors={"reason": ["This field is required."]})
    with transaction.atomic():
        user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        summary = {
            "user": user.pk,
            "already_inactive": not user.is_active,
            "workloads_handed_over": [],
            "workloads_suspended": [],
            "workflows_handed_over": [],
            "workflows_unowned": [],
            "backup_roles_ended": [],
            "revoked_grants": 0,
            "cancelled_requests": 0,
        }
        if not user.is_active:
            return summary
        user.is_active = False
        user.deactivated_at = timezone.now()
        user.deactivated_by = by
        user.deactivation_reason = reason
        user.save(update_fields=["is_active", "deactivated_at", "deactivated_by", "deactivation_reason"])
        why = f"{user.label} left: {reason}"

        # Workloads first: the backup owner who takes them over is read before the
        # workflows below change hands.
        workloads = (
            WorkloadIdentity.objects.select_for_update(no_key=True, of=("self",))
            .filter(owner=user)
            .exclude(status=WorkloadStatus.RETIRED)
            .select_related("workflow__backup_owner")
        )
        for workload in workloads.order_by("pk"):
            successor = workload.workflow.backup_owner
            if successor is not None and successor.is_active and successor.pk != user.pk:
                workload.owner = successor
                workload.save(update_fields=["owner", "updated_at"])
                signals.workload_owner_changed.send(
                    sender=WorkloadIdentity,
                    workload=workload,
                    previous_owner=user,
                    new_owner=successor,
                    by=by,
                    reason=why,
                )
                summary["workloads_handed_over"].append(workload.pk)
            else:
                suspend_workload(workload, by=by, reason=f"Its owner {why}")
                summary["workloads_suspended"].append(workload.pk)

        for workflow in Workflow.objects.select_for_update(no_key=True).filter(control_owner=user).order_by("pk"):
            successor = workflow.backup_owner
            if successor is not None and successor.is_active and successor.pk != user.pk:
                workflow.control_owner, workflow.backup_owner = successor, None
                summary["workflows_handed_over"].append(workflow.pk)
            else:
                # The database refuses an active workflow without an owner: suspend it.
                workflow.control_owner = None
                if workflow.status == WorkflowStatus.ACTIVE:
                    workflow.status = WorkflowStatus.SUSPENDED
                summary["workflows_unowned"].append(workflow.pk)
            workflow.save(update_fields=["control_owner", "backup_owner", "status", "updated_at"])
            signals.workflow_owner_changed.send(
                sender=Workflow,
                workflow=workflow,
                previous_owner=user,
                new_owner=workflow.control_owner,
                by=by,
                reason=why,
            )

        for workflow in Workflow.objects.select_for_update(no_key=True).filter(backup_owner=user).order_by("pk"):
            workflow.backup_owner = None
            workflow.save(update_fields=["backup_owner", "updated_at"])
            summary["backup_roles_ended"].append(workflow.pk)

        summary["revoked_grants"] = revoke_grants_of(person=user, by=by, reason=why)
        summary["cancelled_requests"] = cancel_pending_requests_of(person=user, by=by, reason=why)
        signals.person_deactivated.send(sender=User, user=user, by=by, reason=reason, summary=summary)
        transaction.on_commit(lambda: _tell_about_handovers(user.pk, summary, reason))
    logger.info("deactivated %s: %s", user.pk, summary)
    return summary


def reactivate_person(user, *, by=None, reason=""):
    """A person is back. Only the account comes back: access must be requested again."""
    with transaction.atomic():
        user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        if user.is_active:
            return user
        user.is_active = True
        user.deactivated_at = None
        user.deactivated_by = None
        user.deactivation_reason = ""
        user.save(update_fields=["is_active", "deactivated_at", "deactivated_by", "deactivation_reason"])
        signals.person_reactivated.send(sender=User, user=user, by=by, reason=reason)
    return user


def _link(workflow):
    try:
        path = workflow.get_absolute_url()
    except NoReverseMatch:
        path = reverse("admin:governance_workflow_change", args=[workflow.pk])
    return f"{settings.SITE_URL}{path}"


def _tell_about_handovers(user_id, summary, reason):
    """E-mail the security contact about unowned workflows and new owners about what they took over.

    Runs after commit; a mail failure is logged and never undoes the deactivation.
    """

    leaver = User.objects.get(pk=user_id)
    messages = []
    unowned = list(Workflow.objects.filter(pk__in=summary["workflows_unowned"]))
    if unowned:
        lines = "\n".join(f"- {w.name}: {_link(w)}" for w in unowned)
        messages.append(
            (
                f"[Mandate] {len(unowned)} workflow(s) without a control owner",
                f"{leaver.label} was deactivated ({reason}) and nobody could take over:\n\n{lines}\n\n"
                "These workflows are suspended and every request in them is denied until a new control owner "
                "is named and the workflow is reactivated.",
                [settings.SECURITY_CONTACT_EMAIL],
            )
        )
    handed = Workflow.objects.filter(pk__in=summary["workflows_handed_over"]).select_related("control_owner")
    workloads = WorkloadIdentity.objects.filter(pk__in=summary["workloads_handed_over"]).select_related("owner")
    for person in {w.control_owner for w in handed} | {w.owner for w in workloads}:
        taken = [f"- workflow {w.name}" for w in handed if w.control_owner == person]
        taken += [f"- workload {w.name}" for w in workloads if w.owner == person]
        messages.append(
            (
                "[Mandate] You now own what " + str(leaver) + " owned",
                f"{leaver.label} was deactivated ({reason}). As backup owner you are now responsible for:\n\n"
                + "\n".join(taken)
                + "\n\nName a new backup owner for each workflow.",
                [person.email],
            )
        )
    for subject, body, recipients in messages:
        recipients = [address for address in recipients if address]
        if not recipients:
            continue  # a person provisioned without an e-mail address
        try:
            send_mail(subject, body, None, recipients)
        except Exception:
            logger.exception("could not send the leaver notice %r to %s", subject, recipients)
