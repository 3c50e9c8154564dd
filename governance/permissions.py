"""Who may see and do what. One place, used by the portal, the API and services.

Rules:
- superusers and security auditors (permission `identities.audit_all`) see everything;
  auditors change nothing;
- a workflow's control owner and backup owner manage it: see its requests, grants,
  evidence and reviews, decide its requests and answer its access reviews (never
  certifying their own access);
- every signed-in person sees the catalogue of active workflows (to ask for access) and
  their own requests and grants (made by them, or by a workload for them);
- a workload sees only its own workflow and its own requests and grants.
"""

from django.db.models import Q

from governance.models import Workflow


def is_auditor(user):
    return bool(user and user.is_authenticated and (user.is_superuser or user.has_perm("identities.audit_all")))


def is_admin(user):
    return bool(user and user.is_authenticated and user.is_superuser)


def managed_workflows(user):
    """Workflows the person owns (control or backup owner); all of them for a superuser."""
    if is_admin(user):
        return Workflow.objects.all()
    if not (user and user.is_authenticated):
        return Workflow.objects.none()
    return Workflow.objects.filter(Q(control_owner=user) | Q(backup_owner=user))


def visible_workflows(user):
    """Workflows the person may see: managed ones, the active catalogue, all for auditors."""
    if is_auditor(user):
        return Workflow.objects.all()
    if not (user and user.is_authenticated):
        return Workflow.objects.none()
    return Workflow.objects.filter(Q(control_owner=user) | Q(backup_owner=user) | Q(status="active")).distinct()


def can_manage_workflow(user, workflow):
    if is_admin(user):
        return True
    return bool(user and user.is_authenticated and user.pk in (workflow.control_owner_id, workflow.backup_owner_id))


def _subject_filter(user):
    return Q(requested_by=user) | Q(on_behalf_of=user) | Q(workload__owner=user)


def visible_requests(user):
    """Access requests the person may see."""
    from approvals.models import AccessRequest

    if is_auditor(user):
        return AccessRequest.objects.all()
    if not (user and user.is_authenticated):
        return AccessRequest.objects.none()
    return AccessRequest.objects.filter(
        _subject_filter(user) | Q(workflow__control_owner=user) | Q(workflow__backup_owner=user)
    ).distinct()


def visible_grants(user):
    """Grants the person may see."""
    from approvals.models import Grant

    if is_auditor(user):
        return Grant.objects.all()
    if not (user and user.is_authenticated):
        return Grant.objects.none()
    return Grant.objects.filter(
        _subject_filter(user) | Q(workflow__control_owner=user) | Q(workflow__backup_owner=user)
    ).distinct()


def visible_campaigns(user):
    """Access-review campaigns the person may see: those of workflows they manage, all for auditors."""
    from governance.models import ReviewCampaign

    if is_auditor(user):
        return ReviewCampaign.objects.all()
    return ReviewCampaign.objects.filter(workflow__in=managed_workflows(user))


def can_decide_review(user, campaign):
    """The workflow's control or backup owner (or a superuser) answers its access review.

    Auditors see reviews but decide nothing. Whether a person may certify one particular
    item (not their own access) is separation of duties, checked in the review service.
    """
    return can_manage_workflow(user, campaign.workflow)
