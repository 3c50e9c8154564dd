"""The dossier's answers as plain data (JSON-ready), shared by the API and the inventory.

One function per answer, so the dossier endpoint and the inventory export say the same
thing in the same words. Times are ISO 8601; people are `{"username", "name"}`.
"""

from django.urls import reverse


def person(user):
    if user is None:
        return None
    return {"username": user.get_username(), "name": str(user)}


def _time(value):
    return value.isoformat() if value else None


def identity(workload):
    """Which agent, who owns it, and where its identity comes from."""
    workflow = workload.workflow
    source = workload.identity_source or workflow.identity_source
    return {
        "slug": workload.slug,
        "name": workload.name,
        "kind": workload.kind,
        "status": workload.status,
        "status_reason": workload.status_reason,
        "description": workload.description,
        "owner": person(workload.owner),
        "workflow": {
            "slug": workflow.slug,
            "name": workflow.name,
            "status": workflow.status,
            "risk_tier": workflow.risk_tier,
            "control_owner": person(workflow.control_owner),
            "backup_owner": person(workflow.backup_owner),
        },
        "identity_source": source.slug if source else None,
        "external_principal": workload.external_principal,
        "created_at": _time(workload.created_at),
        "last_used_at": _time(workload.last_used_at),
    }


def decision(access_request):
    """Why access exists: the task, the justification, and who (or which rule) approved."""
    votes = [
        {
            "by": person(approval.approver),
            "decision": approval.decision,
            "channel": approval.channel,
            "comment": approval.comment,
            "at": _time(approval.created_at),
        }
        for approval in access_request.approvals.all()
    ]
    return {
        "request": access_request.pk,
        "task_ref": access_request.task_ref,
        "justification": access_request.justification,
        "on_behalf_of": person(access_request.on_behalf_of),
        "effect": access_request.effect,
        "approval_mode": access_request.approval_mode,
        "reasons": access_request.decision_reasons,
        "approvals": votes,
    }


def grant(grant):
    return {
        "id": grant.pk,
        "scope": grant.entitlement.scope,
        "task_ref": grant.task_ref,
        "starts_at": _time(grant.starts_at),
        "expires_at": _time(grant.expires_at),
        "status": grant.status,
        "why": decision(grant.request),
    }


def access_request(access_request):
    return {
        "id": access_request.pk,
        "scope": access_request.entitlement.scope,
        "state": access_request.state,
        "created_at": _time(access_request.created_at),
        "decided_at": _time(access_request.decided_at),
        "state_reason": access_request.state_reason,
        "why": decision(access_request),
    }


def entitlement(answer):
    policy, scope = answer.policy, answer.policy.entitlement
    return {
        "scope": scope.scope,
        "target_system": scope.target_system,
        "access_level": scope.access_level,
        "sensitivity": scope.sensitivity,
        "approval_mode": answer.approval_mode,
        "rule": answer.rule,
        "max_ttl_seconds": policy.max_ttl_seconds,
        "task_ref_required": policy.task_ref_required,
        "justification_required": policy.justification_required,
    }


def event(record):
    """One evidence record of the timeline, with its place in its workflow's chain."""
    sequence = record.sequence
    return {
        "id": record.pk,
        "workflow": record.workflow.slug,
        "sequence": sequence,
        "sealed": sequence is not None,
        "kind": record.kind,
        "occurred_at": _time(record.occurred_at),
        "recorded_at": _time(record.recorded_at),
        "outcome": record.outcome,
        "tool_name": record.tool_name,
        "target_resource": record.target_resource,
        "task_ref": record.task_ref,
        "ticket_ref": record.ticket_ref,
        "grant": record.grant_id,
        "on_behalf_of": person(record.on_behalf_of),
        "actor": person(record.actor),
        "summary": record.summary,
        "record_hash": record.record_hash or None,
    }


def kill_switch(workload, *, can_manage, can_reactivate):
    """How to stop it: the API action and page, and whether the caller may pull it."""
    return {
        "status": workload.status,
        "can_suspend": bool(can_manage and workload.status == "active"),
        "can_reactivate": bool(can_reactivate and workload.status == "suspended"),
        "suspend_api": reverse("api:workload-identity-suspend", args=[workload.slug]),
        "suspend_page": reverse("identities:workload_suspend", args=[workload.slug]),
        "reactivate_api": reverse("api:workload-identity-reactivate", args=[workload.slug]),
    }
