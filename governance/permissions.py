"""Who may see and do what. One place, used by the portal, the API and services.

Rules:
- superusers and security auditors (permission `identities.audit_all`) see everything;
  auditors change nothing;
- a workflow's control owner and backup owner manage it: see its requests, grants,
  evidence and reviews, and decide its requests;
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


def audit_workflows(user):
    """Workflows whose evidence, timeline, exports, alignment report and findings the person
    may read: every workflow for auditors, the ones they own for control and backup owners."""
    if is_auditor(user):
        return Workflow.objects.all()
    return managed_workflows(user)


def can_read_evidence(user, workflow):
    return is_auditor(user) or can_manage_workflow(user, workflow)


def visible_findings(user):
    """Findings the person may see: all for auditors, those of their workflows for owners."""
    from governance.models import Finding

    if is_auditor(user):
        return Finding.objects.all()
    return Finding.objects.filter(workflow__in=managed_workflows(user))


def can_recompute_findings(user):
    # Recomputing changes no governed state, so auditors may; owners may, to see a fix land.
    return is_auditor(user) or managed_workflows(user).exists()
