"""Compute the alignment report from data: facts first, then each control's checks."""

from dataclasses import dataclass, field
from datetime import timedelta
from statistics import median

from django.db.models import Count, F, Q
from django.utils import timezone

from approvals.models import AccessRequest, Approval, Grant
from governance.choices import EvidenceKind, EvidenceOutcome, FindingKind, WorkflowStatus
from governance.evidence.intake import seal_workflows
from governance.models import EvidenceChainHead, EvidenceRecord, Finding, Policy, Workflow
from governance.reviews.models import workflow_review_overdue
from identities.models import ApiKey, WorkloadIdentity

from .controls import CONTROLS, SOURCES

WINDOW = timedelta(days=90)
KEY_ROTATION = timedelta(days=90)


@dataclass
class Check:
    """One piece of evidence held (ok True), missing (ok False) or only noted (ok None)."""

    label: str
    ok: bool | None
    detail: str


@dataclass
class ControlResult:
    control: object
    source: object
    checks: list = field(default_factory=list)

    @property
    def held(self):
        return [c for c in self.checks if c.ok is not False]

    @property
    def missing(self):
        return [c for c in self.checks if c.ok is False]

    @property
    def status(self):
        if not self.missing:
            return "met" if any(c.ok for c in self.checks) else "no evidence"
        return "partial" if any(c.ok for c in self.checks) else "gap"


@dataclass
class AlignmentReport:
    scope: str
    generated_at: object
    facts: dict
    results: list
    sources: list


def collect_facts(workflow_ids, now):
    """Counts over the given workflows that the checks read. A handful of aggregate queries."""
    since = now - WINDOW
    workflows = Workflow.objects.filter(pk__in=workflow_ids)
    facts = {"workflows": workflows.count(), "window_days": WINDOW.days}
    facts["active_workflows"] = workflows.filter(status=WorkflowStatus.ACTIVE).count()
    facts["workflows_without_policy"] = workflows.annotate(n=Count("policies")).filter(n=0).count()
    facts["workflows_with_authoritative_source"] = workflows.filter(identity_source__authoritative=True).count()
    policies = Policy.objects.filter(workflow_id__in=workflow_ids)
    facts["policies"] = policies.count()
    facts["auto_approved_write_policies"] = policies.filter(
        approval_mode="auto", entitlement__access_level__in=["write", "admin"]
    ).count()
    requests = AccessRequest.objects.filter(workflow_id__in=workflow_ids, created_at__gte=since)
    facts["requests"] = requests.count()
    approvals = Approval.objects.filter(request__workflow_id__in=workflow_ids, created_at__gte=since)
    facts["human_decisions"] = approvals.count()
    facts["sod_violations"] = approvals.filter(
        Q(approver=F("request__requested_by"))
        | Q(approver=F("request__on_behalf_of"))
        | Q(approver=F("request__workload__owner"))
    ).count()
    grants = Grant.objects.filter(workflow_id__in=workflow_ids, created_at__gte=since)
    facts["grants"] = grants.count()
    facts["grants_with_task"] = grants.exclude(task_ref="").count()
    facts["workload_grants"] = grants.filter(workload__isnull=False).count()
    facts["workload_grants_for_person"] = grants.filter(workload__isnull=False, on_behalf_of__isnull=False).count()
    lifetimes = [(g["expires_at"] - g["starts_at"]).total_seconds() for g in grants.values("starts_at", "expires_at")]
    facts["median_grant_seconds"] = median(lifetimes) if lifetimes else None
    facts["grants_ended_early"] = grants.filter(status="revoked").count()
    evidence = EvidenceRecord.objects.filter(workflow_id__in=workflow_ids, occurred_at__gte=since)
    counts = dict(evidence.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    for kind in EvidenceKind.values:
        facts[f"evidence_{kind}"] = counts.get(kind, 0)
    facts["authorizations_denied"] = evidence.filter(
        kind=EvidenceKind.AUTHORIZATION, outcome=EvidenceOutcome.DENIED
    ).count()
    facts["data_access_unclassified"] = evidence.filter(kind=EvidenceKind.DATA_ACCESS, data_classification="").count()
    workloads = WorkloadIdentity.objects.filter(workflow_id__in=workflow_ids)
    facts["workloads"] = workloads.count()
    facts["active_workloads"] = workloads.filter(status="active").count()
    facts["suspended_workloads"] = workloads.filter(status="suspended").count()
    facts["workloads_inactive_owner"] = workloads.filter(status="active", owner__is_active=False).count()
    facts["workloads_with_source"] = workloads.filter(identity_source__isnull=False).count()
    keys = ApiKey.objects.filter(workload__workflow_id__in=workflow_ids)
    usable = keys.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    facts["usable_keys"] = usable.count()
    facts["unrotated_keys"] = usable.filter(created_at__lt=now - KEY_ROTATION, expires_at__isnull=True).count()
    facts["ended_keys"] = keys.count() - facts["usable_keys"]
    active = Workflow.objects.filter(pk__in=workflow_ids, status=WorkflowStatus.ACTIVE)
    facts["reviews_overdue"] = active.filter(workflow_review_overdue(now)).distinct().count()
    facts["reviews_unscheduled"] = active.filter(next_review_due__isnull=True).count()
    open_findings = Finding.objects.filter(workflow_id__in=workflow_ids, resolved_at__isnull=True)
    by_kind = dict(open_findings.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    for kind in FindingKind.values:
        facts[f"finding_{kind}"] = by_kind.get(kind, 0)
    heads = EvidenceChainHead.objects.filter(workflow_id__in=workflow_ids)
    facts["chains"] = heads.count()
    facts["chains_verified_ok"] = heads.filter(verified_ok=True).count()
    facts["chains_broken"] = heads.filter(verified_ok=False).count()
    facts["chains_unverified"] = heads.filter(verified_ok__isnull=True).count()
    facts["evidence_records"] = EvidenceRecord.objects.filter(workflow_id__in=workflow_ids).count()
    return facts


def _hours(seconds):
    return f"{seconds / 3600:.1f} h" if seconds is not None else "—"


def _zero(label, count, held, missing):
    """A check that passes when a count of problems is zero."""
    return Check(label, count == 0, held if count == 0 else missing.format(n=count))


def pr_aa_05(f):
    yield _zero(
        "Access is defined in policy",
        f["workflows_without_policy"],
        f"{f['policies']} policies define who may be granted what, for how long and with whose approval.",
        "{n} workflows have no policy: nothing there is governed.",
    )
    yield _zero(
        "Least privilege: no standing privilege",
        f["finding_standing_privilege"],
        "No grant or policy exceeds the standing-privilege threshold or outlives its use.",
        "{n} open standing-privilege findings.",
    )
    if f["grants"]:
        untasked = f["grants"] - f["grants_with_task"]
        yield _zero(
            "Least privilege: access is scoped to a task",
            untasked,
            f"All {f['grants']} grants of the last {f['window_days']} days name their task; median lifetime "
            f"{_hours(f['median_grant_seconds'])}.",
            f"{{n}} of {f['grants']} grants of the last {f['window_days']} days name no task.",
        )
    else:
        no_grants = f"No grants in the last {f['window_days']} days."
        yield Check("Least privilege: access is scoped to a task", None, no_grants)
    yield _zero(
        "Separation of duties",
        f["sod_violations"],
        f"{f['human_decisions']} approval decisions by people other than the requester, the person acted for and "
        "the workload's owner (enforced by the approval service).",
        "{n} decisions were made by the requester, the person acted for or the workload's owner.",
    )
    yield _zero(
        "Write and admin access needs a person's approval",
        f["auto_approved_write_policies"],
        "No policy auto-approves write or admin access.",
        "{n} policies auto-approve write or admin access.",
    )
    yield _zero(
        "Access is reviewed on schedule",
        f["reviews_overdue"] + f["reviews_unscheduled"],
        "Every active workflow has a review scheduled and none is overdue.",
        "{n} workflows have an overdue or unscheduled access review.",
    )
    yield Check(
        "Access is enforced at each use and recorded",
        bool(f["evidence_authorization"]) if f["active_workloads"] else None,
        f"{f['evidence_authorization']} authorization decisions recorded in the last {f['window_days']} days "
        f"({f['authorizations_denied']} denied).",
    )


def pr_aa_01(f):
    yield _zero(
        "Every workflow has an accountable, active owner",
        f["finding_no_active_owner"],
        f"All {f['workflows']} workflows have an active control owner.",
        "{n} workflows have no active control owner.",
    )
    yield _zero(
        "Identities come from an authoritative source",
        f["workflows"] - f["workflows_with_authoritative_source"],
        "Every workflow names an authoritative identity source for its people.",
        "{n} workflows rely on an identity source that is not authoritative.",
    )
    yield _zero(
        "Each workload is one identity with an active owner",
        f["workloads_inactive_owner"] + f["finding_shared_principal"],
        f"{f['workloads']} workloads, each bound to one workflow with an active owner "
        f"({f['workloads_with_source']} with their own identity source).",
        "{n} workloads have an inactive owner or share an external principal with another workflow.",
    )
    yield _zero(
        "Credentials are hashed, rotated and revocable",
        f["unrotated_keys"],
        f"{f['usable_keys']} usable API keys, stored only as hashes; {f['ended_keys']} rotated or revoked.",
        "{n} API keys are older than 90 days and were never rotated.",
    )
    yield _zero(
        "Identities no longer used are removed",
        f["finding_unused_workload"],
        "No active workload has been idle for 90 days.",
        "{n} active workloads have not been used for 90 days.",
    )


def asi03(f):
    yield Check(
        "Agents act under their own identity",
        True if f["workloads"] else None,
        f"{f['workloads']} workload identities, separate from people's accounts ({f['suspended_workloads']} "
        "suspended with the kill switch).",
    )
    yield _zero(
        "Delegation names the person acted for",
        f["workload_grants"] - f["workload_grants_for_person"],
        f"All {f['workload_grants']} grants to workloads in the last {f['window_days']} days record the person "
        "they act for.",
        "{n} grants to workloads do not record the person they act for.",
    )
    yield _zero(
        "Privileges are short-lived",
        f["finding_standing_privilege"],
        f"Median grant lifetime {_hours(f['median_grant_seconds'])}; no standing privilege.",
        "{n} open standing-privilege findings.",
    )
    yield _zero(
        "Privileges end with the task",
        f["finding_used_after_task"],
        "No grant was used after its task was completed.",
        "{n} grants were used by authorization checks after their task was completed.",
    )


def asi02(f):
    checks = f["evidence_authorization"]
    yield Check(
        "Tool calls are authorized before they run",
        bool(checks) if f["active_workloads"] else None,
        f"{checks} authorization checks in the last {f['window_days']} days ({f['authorizations_denied']} denied)."
        if checks
        else "No authorization checks recorded: agents do not ask before acting.",
    )
    tools = f["evidence_tool_call"]
    yield Check(
        "Tool calls are recorded as evidence",
        bool(tools) if f["active_workloads"] else None,
        f"{tools} tool calls, {f['evidence_data_access']} data accesses and {f['evidence_action']} actions reported "
        f"in the last {f['window_days']} days."
        if tools
        else "Agents reported no tool calls.",
    )
    yield _zero(
        "Data access is classified",
        f["data_access_unclassified"],
        "Every reported data access carries its data classification.",
        "{n} data accesses carry no data classification.",
    )
    yield _zero(
        "High-impact tools need a person's approval",
        f["auto_approved_write_policies"],
        "No policy auto-approves write or admin access.",
        "{n} policies auto-approve write or admin access.",
    )


def maestro(f):
    yield _zero(
        "Agent Impersonation: each agent is distinct and attributable",
        f["finding_shared_principal"],
        "No external principal is shared between workflows; every event names its workload.",
        "{n} workloads share an external principal with another workflow.",
    )
    yield _zero(
        "Agent Identity Attack: credentials are hashed, short-lived and revocable",
        f["unrotated_keys"],
        f"API keys are stored hashed ({f['usable_keys']} usable); grant tokens are short-lived.",
        "{n} API keys are older than 90 days and were never rotated.",
    )
    unverified = f["chains_broken"] + f["chains_unverified"]
    yield Check(
        "Tamper-evident trail of agent activity",
        None if not f["chains"] else unverified == 0,
        f"{f['evidence_records']} evidence records in {f['chains']} hash chains: {f['chains_verified_ok']} verified, "
        f"{f['chains_broken']} broken, {f['chains_unverified']} not yet verified.",
    )
    yield _zero(
        "Agent Tool Misuse: tool use bounded by grants",
        f["finding_standing_privilege"] + f["finding_used_after_task"],
        "Tools are reached only through short-lived, task-scoped grants checked at each use.",
        "{n} open findings of standing privilege or use after the task.",
    )


CHECKS = {"pr-aa-05": pr_aa_05, "pr-aa-01": pr_aa_01, "asi03": asi03, "asi02": asi02, "maestro-identity": maestro}


def alignment_report(workflows, *, scope, now=None):
    """The report over `workflows` (a queryset): one ControlResult per control."""
    now = now or timezone.now()
    workflow_ids = list(workflows.values_list("pk", flat=True))
    seal_workflows(workflow_ids)  # count the decisions still in the intake too
    facts = collect_facts(workflow_ids, now)
    results = [ControlResult(c, SOURCES[c.source], list(CHECKS[c.key](facts))) for c in CONTROLS]
    return AlignmentReport(scope=scope, generated_at=now, facts=facts, results=results, sources=list(SOURCES.values()))
