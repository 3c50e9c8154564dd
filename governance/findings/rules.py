"""The findings rules: each reads the live data and yields the problems it sees.

A rule is a function `rule(now) -> iterable of FindingSpec`. Rules only read; the
service in `services.py` turns their output into stored findings.
"""

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from django.conf import settings
from django.db.models import Count, F, Max, Q
from django.urls import NoReverseMatch, reverse

from approvals.models import Grant
from governance.choices import EvidenceKind, EvidenceOutcome, FindingKind, FindingSeverity, WorkflowStatus
from governance.models import EvidenceChainHead, EvidenceRecord, Policy, Workflow
from identities.models import WorkloadIdentity

# "Far beyond use": grants live at least this many times longer than they are used.
FAR_BEYOND_FACTOR = 4
MIN_GRANTS_FOR_USE_PATTERN = 3
USE_WINDOW = timedelta(days=90)
# complete_task() ends a task's grants with this reason; it is how a completed task shows.
TASK_COMPLETED_PREFIX, TASK_COMPLETED_SUFFIX = "Task “", "” completed."


@dataclass(frozen=True)
class FindingSpec:
    kind: str
    severity: str
    workflow_id: int | None
    fingerprint: str
    subject_type: str
    subject_id: str
    title: str
    detail: str
    fix_url: str
    fix_label: str


def link_to(obj):
    """The portal page of `obj` if there is one, else its admin page (read-only or not)."""
    try:
        return obj.get_absolute_url()
    except (AttributeError, NoReverseMatch):
        pass
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def admin_link(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def human(seconds):
    seconds = int(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            value = seconds / size
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return f"{seconds} s"


def standing_privilege(now):
    limit = settings.FINDINGS_STANDING_PRIVILEGE_SECONDS
    for policy in Policy.objects.filter(max_ttl_seconds__gt=limit).select_related("workflow", "entitlement"):
        yield FindingSpec(
            FindingKind.STANDING_PRIVILEGE,
            FindingSeverity.HIGH,
            policy.workflow_id,
            f"standing_privilege:policy:{policy.pk}",
            "policy",
            str(policy.pk),
            f"Policy for “{policy.entitlement}” in “{policy.workflow}” allows {human(policy.max_ttl_seconds)} grants",
            f"Anything above {human(limit)} is standing privilege, not just-in-time access. Lower the maximum TTL.",
            admin_link(policy),
            "Edit the policy",
        )
    long_lived = Grant.objects.filter(status="active", expires_at__gt=F("starts_at") + timedelta(seconds=limit))
    for grant in long_lived.select_related("workflow", "entitlement", "workload", "requested_by", "on_behalf_of"):
        lifetime = (grant.expires_at - grant.starts_at).total_seconds()
        yield FindingSpec(
            FindingKind.STANDING_PRIVILEGE,
            FindingSeverity.HIGH,
            grant.workflow_id,
            f"standing_privilege:grant:{grant.pk}",
            "grant",
            str(grant.pk),
            f"Grant #{grant.pk} of “{grant.entitlement}” to {grant.subject_label} lasts {human(lifetime)}",
            f"Active until {grant.expires_at:%Y-%m-%d %H:%M %Z}; anything above {human(limit)} is standing privilege.",
            link_to(grant),
            "Revoke the grant",
        )
    yield from _lifetimes_beyond_use(now)


def _lifetimes_beyond_use(now):
    """Policies whose recent grants live far longer than they are used."""
    used_until = Max(
        "evidence__occurred_at",
        filter=Q(evidence__kind=EvidenceKind.AUTHORIZATION, evidence__outcome=EvidenceOutcome.ALLOWED),
    )
    recent = (
        Grant.objects.filter(created_at__gte=now - USE_WINDOW)
        .annotate(used_until=used_until)
        .values("workflow_id", "entitlement_id", "starts_at", "expires_at", "used_until")
    )
    by_policy = {}
    for grant in recent:
        lifetime = (grant["expires_at"] - grant["starts_at"]).total_seconds()
        used = (grant["used_until"] - grant["starts_at"]).total_seconds() if grant["used_until"] else 0
        by_policy.setdefault((grant["workflow_id"], grant["entitlement_id"]), []).append((lifetime, max(used, 0)))
    for (workflow_id, entitlement_id), grants in by_policy.items():
        if len(grants) < MIN_GRANTS_FOR_USE_PATTERN:
            continue
        typical_lifetime = median(lifetime for lifetime, _ in grants)
        longest_use = max(used for _, used in grants)
        if typical_lifetime < 3600 or longest_use * FAR_BEYOND_FACTOR > typical_lifetime:
            continue
        policy = (
            Policy.objects.filter(workflow_id=workflow_id, entitlement_id=entitlement_id)
            .select_related("workflow", "entitlement")
            .first()
        )
        if policy is None:
            continue
        yield FindingSpec(
            FindingKind.STANDING_PRIVILEGE,
            FindingSeverity.MEDIUM,
            workflow_id,
            f"standing_privilege:beyond_use:{policy.pk}",
            "policy",
            str(policy.pk),
            f"Grants of “{policy.entitlement}” in “{policy.workflow}” live far longer than they are used",
            f"{len(grants)} grants in the last {USE_WINDOW.days} days lived a median of {human(typical_lifetime)} "
            f"but were used for at most {human(longest_use)}. Lower the policy's maximum TTL "
            f"({human(policy.max_ttl_seconds)}) or ask for shorter grants.",
            admin_link(policy),
            "Edit the policy",
        )


def shared_principals(now):
    shared = (
        WorkloadIdentity.objects.exclude(external_principal="")
        .values("external_principal")
        .annotate(workflows=Count("workflow", distinct=True))
        .filter(workflows__gt=1)
        .values_list("external_principal", flat=True)
    )
    for principal in shared:
        workloads = list(
            WorkloadIdentity.objects.filter(external_principal=principal).select_related("workflow").order_by("pk")
        )
        names = ", ".join(f"{w} ({w.workflow})" for w in workloads)
        for workload in workloads:
            yield FindingSpec(
                FindingKind.SHARED_PRINCIPAL,
                FindingSeverity.HIGH,
                workload.workflow_id,
                f"shared_principal:{workload.pk}",
                "workload",
                str(workload.pk),
                f"“{principal}” is shared by workloads of {len({w.workflow_id for w in workloads})} workflows",
                f"One external identity used by {names} cannot be governed per workflow: give each its own.",
                admin_link(workload),
                "Change the workload's principal",
            )


def ownerless_workflows(now):
    candidates = Workflow.objects.exclude(status=WorkflowStatus.RETIRED).filter(
        Q(control_owner__isnull=True) | Q(control_owner__is_active=False)
    )
    for workflow in candidates.select_related("control_owner", "backup_owner"):
        backup = workflow.backup_owner if workflow.backup_owner and workflow.backup_owner.is_active else None
        owner = f"Its control owner {workflow.control_owner} is inactive" if workflow.control_owner else "It has none"
        who = f"only the backup owner {backup} can decide." if backup else "nobody can decide or review."
        yield FindingSpec(
            FindingKind.NO_ACTIVE_OWNER,
            FindingSeverity.MEDIUM if backup else FindingSeverity.CRITICAL,
            workflow.pk,
            f"no_active_owner:{workflow.pk}",
            "workflow",
            str(workflow.pk),
            f"Workflow “{workflow}” has no active control owner",
            f"{owner}; {who}",
            admin_link(workflow),
            "Assign a control owner",
        )


def overdue_reviews(now):
    for workflow in Workflow.objects.filter(status=WorkflowStatus.ACTIVE):
        due = workflow.next_review_due
        if due is None:
            title, detail, severity = (
                f"Workflow “{workflow}” has no access review scheduled",
                f"Its review cycle is {workflow.review_cycle_days} days but no review is due.",
                FindingSeverity.MEDIUM,
            )
        elif due + timedelta(days=workflow.review_grace_days) < now:
            late = (now - due).days
            title, detail, severity = (
                f"Access review of “{workflow}” is {late} days overdue",
                f"Due {due:%Y-%m-%d}, grace {workflow.review_grace_days} days.",
                FindingSeverity.HIGH,
            )
        else:
            continue
        yield FindingSpec(
            FindingKind.OVERDUE_REVIEW,
            severity,
            workflow.pk,
            f"overdue_review:{workflow.pk}",
            "workflow",
            str(workflow.pk),
            title,
            detail,
            link_to(workflow),
            "Review the workflow",
        )


def unused_workloads(now):
    days = settings.FINDINGS_UNUSED_WORKLOAD_DAYS
    cutoff = now - timedelta(days=days)
    idle = WorkloadIdentity.objects.filter(status="active").filter(
        Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff)
    )
    for workload in idle.select_related("workflow"):
        seen = f"last used {workload.last_used_at:%Y-%m-%d}" if workload.last_used_at else "never used"
        yield FindingSpec(
            FindingKind.UNUSED_WORKLOAD,
            FindingSeverity.MEDIUM,
            workload.workflow_id,
            f"unused_workload:{workload.pk}",
            "workload",
            str(workload.pk),
            f"Workload “{workload}” has not been used for {days} days",
            f"Active but {seen}. Suspend or retire it.",
            link_to(workload),
            "Suspend the workload",
        )


def used_after_task(now):
    """Grants whose task was completed, checked by authorization afterwards."""
    completed = Grant.objects.filter(
        ended_at__gte=now - USE_WINDOW,
        end_reason__startswith=TASK_COMPLETED_PREFIX,
        end_reason__endswith=TASK_COMPLETED_SUFFIX,
    ).select_related("workflow", "entitlement", "workload", "requested_by", "on_behalf_of")
    for grant in completed:
        subject = Q(workload_id=grant.workload_id) if grant.workload_id else Q(actor_id=grant.requested_by_id)
        later = EvidenceRecord.objects.filter(
            Q(grant_id=grant.pk) | (Q(task_ref=grant.task_ref) & subject),
            workflow_id=grant.workflow_id,
            kind=EvidenceKind.AUTHORIZATION,
            occurred_at__gt=grant.ended_at,
        ).aggregate(
            checks=Count("pk"),
            allowed=Count("pk", filter=Q(outcome=EvidenceOutcome.ALLOWED)),
            last=Max("occurred_at"),
        )
        if not later["checks"]:
            continue
        yield FindingSpec(
            FindingKind.USED_AFTER_TASK,
            FindingSeverity.HIGH if later["allowed"] else FindingSeverity.MEDIUM,
            grant.workflow_id,
            f"used_after_task:{grant.pk}",
            "grant",
            str(grant.pk),
            f"Grant #{grant.pk} was used after its task “{grant.task_ref}” was completed",
            f"{grant.subject_label} made {later['checks']} authorization checks for the task after "
            f"{grant.ended_at:%Y-%m-%d %H:%M %Z} ({later['allowed']} allowed), the last at "
            f"{later['last']:%Y-%m-%d %H:%M %Z}. The agent keeps acting after its task: check or suspend it.",
            link_to(grant.workload) if grant.workload_id else link_to(grant),
            "Check the workload" if grant.workload_id else "Check the grant",
        )


def broken_evidence_chains(now):
    for head in EvidenceChainHead.objects.filter(verified_ok=False).select_related("workflow"):
        yield FindingSpec(
            FindingKind.BROKEN_EVIDENCE_CHAIN,
            FindingSeverity.CRITICAL,
            head.workflow_id,
            f"broken_evidence_chain:{head.workflow_id}",
            "workflow",
            str(head.workflow_id),
            f"The evidence chain of “{head.workflow}” is broken",
            f"Verified {head.verified_at:%Y-%m-%d %H:%M %Z}: {head.verification_problem}",
            reverse("governance:workflow_tab", args=[head.workflow.slug, "timeline"]),
            "See the timeline",
        )


RULES = [
    standing_privilege,
    shared_principals,
    ownerless_workflows,
    overdue_reviews,
    unused_workloads,
    used_after_task,
    broken_evidence_chains,
]
