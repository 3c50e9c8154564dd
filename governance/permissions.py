"""Who may see and do what. One place, used by the portal, the API and services.

Rules:
- superusers and security auditors (permission `identities.audit_all`) see everything;
  auditors change nothing (`is_read_only`), except their own personal access tokens;
- a workflow's control owner and backup owner manage it: see its requests, grants,
  evidence, workloads and reviews, decide its requests, edit it and its policies, and
  answer its access reviews (never certifying their own access);
- every signed-in person sees the catalogue of active workflows (to ask for access), their
  policies and the entitlement catalogue, and their own requests and grants (made by them,
  or by a workload for them); any person may register a workflow they will control;
- a workload (`identities.principals.WorkloadPrincipal`) sees only its own workflow, that
  workflow's policies and entitlements, itself, and its own requests and grants; it may
  ask for access, check it, and give it up, but never approves, decides, edits, reviews
  or issues, and sees no access review;
- ticket-queue configuration is read by administrators and auditors, checked against the
  ticket system by administrators only; a suspended workload is reactivated by its
  workflow's owners (not by the workload's own owner, who may only suspend it);
- the security team (`is_registry_admin`) may change any registry entry, not see its grants.

`visible_*` answer "may see" (404 when not); `can_*` answer "may do" (403 when not).
"""

from django.db.models import Q

from approvals.models import AccessRequest, Grant, QueueConnection
from governance.exceptions import NotAllowed
from governance.models import Entitlement, EvidenceRecord, Finding, Policy, ReviewCampaign, ReviewItem, Workflow
from identities.models import ApiKey, WorkloadIdentity


def require(allowed, message="You do not have permission to do this."):
    """Refuse (403, with `message` for the caller) unless `allowed`: portal and API alike."""
    if not allowed:
        raise NotAllowed(message)


def is_workload(user):
    return bool(getattr(user, "is_workload", False))


def is_person(user):
    """A signed-in, active person (not a workload, not anonymous)."""
    return bool(user and user.is_authenticated and not is_workload(user) and user.is_active)


def is_auditor(user):
    return bool(is_person(user) and (user.is_superuser or user.has_perm("identities.audit_all")))


def is_admin(user):
    return bool(is_person(user) and user.is_superuser)


def is_read_only(user):
    """Auditors who are not administrators read everything and change nothing."""
    return is_auditor(user) and not is_admin(user)


def is_registry_admin(user):
    """The security team: superusers and holders of `governance.decide_registry_changes`."""
    if not is_person(user) or is_read_only(user):
        return False
    return is_admin(user) or user.has_perm("governance.decide_registry_changes")


# --- Workflows ------------------------------------------------------------------------
def managed_workflows(user):
    """Workflows the person owns (control or backup owner); all of them for a superuser."""
    if is_admin(user):
        return Workflow.objects.all()
    if not is_person(user):
        return Workflow.objects.none()
    return Workflow.objects.filter(Q(control_owner=user) | Q(backup_owner=user))


def visible_workflows(user):
    """Workflows the caller may see: managed ones, the active catalogue, all for auditors."""
    if is_workload(user):
        return Workflow.objects.filter(pk=user.workload.workflow_id)
    if is_auditor(user) or is_registry_admin(user):
        return Workflow.objects.all()
    if not is_person(user):
        return Workflow.objects.none()
    return Workflow.objects.filter(Q(control_owner=user) | Q(backup_owner=user) | Q(status="active")).distinct()


def can_manage_workflow(user, workflow):
    if is_admin(user):
        return True
    if not is_person(user) or is_read_only(user):
        return False
    return user.pk in {pk for pk in (workflow.control_owner_id, workflow.backup_owner_id) if pk is not None}


def can_change_workflow(user, workflow):
    """Change a workflow's registration and policies, bind workloads to it: its owners and the
    security team. What widens access still waits for someone else (`governance.changes`)."""
    return can_manage_workflow(user, workflow) or is_registry_admin(user)


def can_register_workflow(user):
    """Any person may register a workflow they will control; auditors and workloads may not."""
    return is_person(user) and not is_read_only(user)


def can_assign_control_owner(user, workflow=None):
    """Naming someone else as control owner is the security team's act (hand-over aside)."""
    return is_registry_admin(user)


# --- Entitlements and policies -----------------------------------------------------------
def visible_entitlements(user):
    """The entitlement catalogue; a workload sees only what its workflow has a policy for."""
    if is_workload(user):
        return Entitlement.objects.filter(policies__workflow_id=user.workload.workflow_id).distinct()
    if not is_person(user):
        return Entitlement.objects.none()
    return Entitlement.objects.all()


def can_create_entitlement(user):
    """The security team, and owners adding a scope their workflow needs."""
    if is_registry_admin(user):
        return True
    return is_person(user) and not is_read_only(user) and managed_workflows(user).exists()


def can_change_entitlement(user, entitlement):
    """An entitlement is shared by every workflow that has a policy for it: the security team."""
    return is_registry_admin(user)


def visible_policies(user):
    return Policy.objects.filter(workflow__in=visible_workflows(user))


def can_manage_policy(user, workflow):
    return can_change_workflow(user, workflow)


# --- Workload identities and API keys -----------------------------------------------------
def visible_workloads(user):
    """Workloads the caller may see: its own self, owned ones, managed workflows' ones."""
    if is_workload(user):
        return WorkloadIdentity.objects.filter(pk=user.workload.pk)
    if is_auditor(user):
        return WorkloadIdentity.objects.all()
    if not is_person(user):
        return WorkloadIdentity.objects.none()
    return WorkloadIdentity.objects.filter(
        Q(owner=user) | Q(workflow__control_owner=user) | Q(workflow__backup_owner=user)
    ).distinct()


def can_manage_workload(user, workload):
    """Edit, issue keys for, and suspend: the workload's owner and its workflow's owners."""
    if is_admin(user):
        return True
    if not is_person(user) or is_read_only(user):
        return False
    return workload.owner_id == user.pk or can_manage_workflow(user, workload.workflow)


def can_register_workload(user, workflow):
    return can_change_workflow(user, workflow)


def can_change_workload(user, workload):
    """Change a workload's registration (not its keys): its managers and the security team."""
    return can_manage_workload(user, workload) or is_registry_admin(user)


def can_reactivate_workload(user, workload):
    """Lifting a suspension is for the workflow's owners (and administrators).

    Narrower than suspending: the kill switch is pulled by whoever sees trouble, including
    the workload's own owner, but it is released only by those accountable for the
    workflow, so a suspension by a review or a leaver's hand-over is not undone by the
    person it concerned, not even by the security team.
    """
    return can_manage_workflow(user, workload.workflow) or (is_registry_admin(user) and workload.owner_id != user.pk)


def visible_api_keys(user):
    """Keys (never their secrets): own personal tokens, keys of workloads one manages."""
    if is_auditor(user):
        return ApiKey.objects.all()
    if not is_person(user):
        return ApiKey.objects.none()
    return ApiKey.objects.filter(Q(user=user) | Q(workload__in=visible_workloads(user))).distinct()


def can_manage_api_key(user, key):
    """Rotate or revoke: the holder of a personal token, the managers of a workload's key."""
    if is_admin(user) or not is_person(user):
        return is_admin(user)
    if key.user_id is not None:
        return key.user_id == user.pk
    return can_manage_workload(user, key.workload)


def can_issue_api_key(user, workload=None):
    """A person may always give themselves a token; a workload key needs its manager."""
    return is_person(user) if workload is None else can_manage_workload(user, workload)


# --- Requests and grants --------------------------------------------------------------------
def _subject_filter(user):
    return Q(requested_by=user) | Q(on_behalf_of=user) | Q(workload__owner=user)


def visible_requests(user):
    """Access requests the caller may see."""
    if is_workload(user):
        return AccessRequest.objects.filter(workload_id=user.workload.pk)
    if is_auditor(user):
        return AccessRequest.objects.all()
    if not is_person(user):
        return AccessRequest.objects.none()
    return AccessRequest.objects.filter(
        _subject_filter(user) | Q(workflow__control_owner=user) | Q(workflow__backup_owner=user)
    ).distinct()


def visible_grants(user):
    """Grants the caller may see."""
    if is_workload(user):
        return Grant.objects.filter(workload_id=user.workload.pk)
    if is_auditor(user):
        return Grant.objects.all()
    if not is_person(user):
        return Grant.objects.none()
    return Grant.objects.filter(
        _subject_filter(user) | Q(workflow__control_owner=user) | Q(workflow__backup_owner=user)
    ).distinct()


def _is_subject(user, obj):
    """The caller is who holds (or asked for) the request or grant, or owns that workload."""
    if is_workload(user):
        return obj.workload_id == user.workload.pk
    if not is_person(user):
        return False
    if obj.requested_by_id == user.pk or obj.on_behalf_of_id == user.pk:
        return True
    return obj.workload_id is not None and obj.workload.owner_id == user.pk


def can_request_access(user):
    """People and active workloads ask for access; auditors do not."""
    if is_workload(user):
        return user.workload.is_active
    return is_person(user) and not is_read_only(user)


def can_decide_request(user, access_request):
    """Whether to offer the person a decision: the workflow's current owners.

    The service (`approvals.services.check_can_decide`) is the authority: it re-reads the
    owners and applies separation of duties and the two-person rule at the moment of the
    decision, and its refusal is what the caller sees.
    """
    if not is_person(user) or is_read_only(user):
        return False
    return user.pk in {u.pk for u in access_request.workflow.owners}


def can_cancel_request(user, access_request):
    """Only who asked (or the person or workload owner it is for) withdraws; owners deny instead."""
    if is_read_only(user):
        return False
    return _is_subject(user, access_request)


def can_revoke_grant(user, grant):
    """The workflow's owners end any grant; a subject may give up its own access early."""
    if is_read_only(user):
        return False
    return _is_subject(user, grant) or can_manage_workflow(user, grant.workflow)


def can_extend_grant(user, grant):
    """Only the subject asks for more time; the extension goes through the policy again."""
    if is_read_only(user):
        return False
    return _is_subject(user, grant)


def completable_grants(user, workflow):
    """Grants whose task the caller may end, or None: a workload its own, a person theirs, owners any."""
    grants = Grant.objects.filter(workflow=workflow)
    if is_workload(user):
        return grants.filter(workload_id=user.workload.pk) if user.workload.workflow_id == workflow.pk else None
    if can_manage_workflow(user, workflow):
        return grants
    return grants.filter(requested_by=user, workload__isnull=True) if is_person(user) and not is_auditor(user) else None


def visible_campaigns(user):
    """Access-review campaigns the person may see: those of workflows they manage, all for auditors."""
    if is_auditor(user) or is_registry_admin(user):
        return ReviewCampaign.objects.all()
    return ReviewCampaign.objects.filter(workflow__in=managed_workflows(user))


def visible_review_items(user):
    """Items of the access reviews the person may see (none for workloads)."""
    return ReviewItem.objects.filter(campaign__in=visible_campaigns(user))


def can_decide_review(user, campaign):
    """The workflow's control or backup owner (or a superuser) answers its access review.

    Auditors see reviews but decide nothing. Whether a person may certify one particular
    item (not their own access) is separation of duties, checked in the review service,
    which also lets the security team decide the items no owner may certify.
    """
    return can_manage_workflow(user, campaign.workflow) or is_registry_admin(user)


# --- Ticket queues ----------------------------------------------------------------------
def visible_queue_connections(user):
    """Configured ticket queues: administrators and auditors (their secrets are references)."""
    return QueueConnection.objects.all() if is_auditor(user) else QueueConnection.objects.none()


def can_test_queue_connection(user):
    """Checking a queue calls the remote system with its credential: administrators only."""
    return is_admin(user)


# --- Portal and service rules ---------------------------------------------------------
# Decisions about one object, used by the portal views (and the services where a rule is
# also a domain rule). Each returns a bool; views turn False into 403 / a hidden button.


def can_view_workflow(user, workflow):
    active = bool(user and user.is_authenticated and workflow.status == "active")
    return active or is_auditor(user) or can_change_workflow(user, workflow)


def can_see_workflow_internals(user, workflow):
    """Grants, requests, workloads and the timeline of a workflow: owners and auditors."""
    return is_auditor(user) or can_manage_workflow(user, workflow)


def can_view_workload(user, workload):
    mine = bool(user and user.is_authenticated) and workload.owner_id == user.pk
    return is_auditor(user) or mine or can_manage_workflow(user, workload.workflow)


def has_stake(user, obj):
    """Whether the person asks for or holds the request or grant, directly or as its workload's owner."""
    if not (user and user.is_authenticated):
        return False
    workload_owner_id = obj.workload.owner_id if obj.workload_id else None
    return user.pk in (obj.requested_by_id, obj.on_behalf_of_id, workload_owner_id)


def can_view_request(user, access_request):
    return is_auditor(user) or can_manage_workflow(user, access_request.workflow) or has_stake(user, access_request)


def can_view_grant(user, grant):
    return is_auditor(user) or can_manage_workflow(user, grant.workflow) or has_stake(user, grant)


def audit_workflows(user):
    """Workflows whose evidence, timeline, exports, alignment report and findings the person
    may read: every workflow for auditors, the ones they own for control and backup owners."""
    return Workflow.objects.all() if is_auditor(user) else managed_workflows(user)


def visible_evidence(user):
    """Evidence records the caller may read: a workload its own events, owners their
    workflows' trail, auditors everything."""
    if is_workload(user):
        return EvidenceRecord.objects.filter(workload_id=user.workload.pk)
    return EvidenceRecord.objects.filter(workflow__in=audit_workflows(user))


def visible_findings(user):
    """Findings the person may see: all for auditors, those of their workflows for owners."""
    return Finding.objects.all() if is_auditor(user) else Finding.objects.filter(workflow__in=managed_workflows(user))


def can_view_findings(user):
    """Findings and the alignment report: auditors, and owners for their own workflows."""
    return is_auditor(user) or managed_workflows(user).exists()


def can_recompute_findings(user):
    """Recomputing writes findings, so read-only auditors leave it to the hourly job; owners
    (to see a fix land) and administrators may."""
    return not is_read_only(user) and (is_admin(user) or managed_workflows(user).exists())
