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


# --- Portal and service rules ---------------------------------------------------------
# Decisions about one object, used by the portal views (and the services where a rule is
# also a domain rule). Each returns a bool; views turn False into 403 / a hidden button.


def can_register_workflow(user):
    """Any signed-in person may register a workflow, except read-only auditors."""
    if is_admin(user):
        return True
    return bool(user and user.is_authenticated and not is_auditor(user))


def can_view_workflow(user, workflow):
    if is_auditor(user) or can_manage_workflow(user, workflow):
        return True
    return bool(user and user.is_authenticated and workflow.status == "active")


def can_see_workflow_internals(user, workflow):
    """Grants, requests, workloads and the timeline of a workflow: owners and auditors."""
    return is_auditor(user) or can_manage_workflow(user, workflow)


def visible_workloads(user):
    """Workload identities the person may see: their own, their workflows', all for auditors."""
    from identities.models import WorkloadIdentity

    if is_auditor(user):
        return WorkloadIdentity.objects.all()
    if not (user and user.is_authenticated):
        return WorkloadIdentity.objects.none()
    return WorkloadIdentity.objects.filter(
        Q(owner=user) | Q(workflow__control_owner=user) | Q(workflow__backup_owner=user)
    ).distinct()


def can_view_workload(user, workload):
    if is_auditor(user):
        return True
    return bool(user and user.is_authenticated) and (
        workload.owner_id == user.pk or can_manage_workflow(user, workload.workflow)
    )


def can_manage_workload(user, workload):
    """Issue, rotate and revoke keys; suspend. The workload's owner and the workflow's owners."""
    if is_admin(user):
        return True
    return bool(user and user.is_authenticated) and (
        workload.owner_id == user.pk or can_manage_workflow(user, workload.workflow)
    )


def can_register_workload(user, workflow):
    """Only a workflow's owners bind a new workload identity to it."""
    return can_manage_workflow(user, workflow)


def has_stake(user, obj):
    """Whether the person is the subject side of a request or grant: the person asking or
    holding it, the person a workload acts for, or the workload's owner."""
    if not (user and user.is_authenticated):
        return False
    workload_owner_id = obj.workload.owner_id if obj.workload_id else None
    return user.pk in (obj.requested_by_id, obj.on_behalf_of_id, workload_owner_id)


def can_view_request(user, access_request):
    return is_auditor(user) or can_manage_workflow(user, access_request.workflow) or has_stake(user, access_request)


def can_decide_request(user, access_request):
    """Whether the portal offers the person a decision on the request.

    The service (`approvals.services.check_can_decide`) is the authority: it re-reads
    the owners and applies separation of duties and the two-person rule at the moment of
    the decision, and its refusal is what the page shows.
    """
    if not (user and user.is_authenticated) or (is_auditor(user) and not is_admin(user)):
        return False
    return user.pk in {u.pk for u in access_request.workflow.owners}


def can_cancel_request(user, access_request):
    """The subject side withdraws its own request (owners deny instead)."""
    return has_stake(user, access_request)


def can_view_grant(user, grant):
    return is_auditor(user) or can_manage_workflow(user, grant.workflow) or has_stake(user, grant)


def can_revoke_grant(user, grant):
    """Owners revoke early; holders may always give their own access back."""
    return can_manage_workflow(user, grant.workflow) or has_stake(user, grant)


def can_extend_grant(user, grant):
    """Extending is a new request through the policy, made by the holder: the person who
    holds it, or for a workload's grant its owner or the person it acts for."""
    if not (user and user.is_authenticated) or (is_auditor(user) and not is_admin(user)):
        return False
    if grant.workload_id:
        return user.pk in (grant.workload.owner_id, grant.on_behalf_of_id)
    return user.pk == grant.requested_by_id


def can_request_access(user):
    """People ask for access in the browser; auditors only read."""
    return bool(user and user.is_authenticated) and (is_admin(user) or not is_auditor(user))
