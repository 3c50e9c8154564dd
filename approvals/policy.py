"""Runtime policy: decide a request from its context, and say why.

`evaluate` is a pure function of a `RequestContext`: it reads no database and no clock, so
every rule is testable from a table and every decision can be replayed from the snapshot
stored on the request. The services gather the facts (who owns what, is the review
overdue) and store the result with the request.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from governance.choices import AccessLevel, ApprovalMode, RiskTier, WorkflowStatus
from identities.choices import WorkloadStatus

from .choices import PolicyEffect

# Default rules, used when a policy's approval mode is "default".
AUTO_APPROVE_TIERS = frozenset({RiskTier.LOW, RiskTier.MEDIUM})
TWO_PERSON_TIERS = frozenset({RiskTier.CRITICAL})


@dataclass(frozen=True)
class Person:
    id: int
    label: str
    is_active: bool = True
    # False for someone whose role forbids deciding anything (an auditor).
    may_decide: bool = True


@dataclass(frozen=True)
class RequestContext:
    """Everything a decision depends on, as plain values."""

    now: datetime
    workflow_name: str
    workflow_status: str
    risk_tier: str
    control_owner: Person | None
    backup_owner: Person | None
    review_due: datetime | None
    review_grace_days: int
    scope: str
    access_level: str
    entitlement_max_seconds: int
    # None when no policy links the entitlement to the workflow.
    approval_mode: str | None
    policy_max_seconds: int | None
    task_ref_required: bool
    justification_required: bool
    duration_seconds: int
    task_ref: str
    justification: str
    requester: Person | None = None  # the person asking, when a person asks
    workload_label: str | None = None
    workload_status: str | None = None
    workload_in_workflow: bool = True
    workload_owner: Person | None = None
    on_behalf_of: Person | None = None
    # Set while a missed access review holds: the deadline revoked this entitlement in
    # this workflow and the review is not completed yet. Names the review.
    missed_review: str | None = None


@dataclass
class Evaluation:
    effect: str
    approval_mode: str = ""
    required_approvals: int = 0
    eligible_approver_ids: list[int] = field(default_factory=list)
    max_seconds: int | None = None
    reasons: list[str] = field(default_factory=list)

    def as_dict(self):
        return {
            "effect": self.effect,
            "approval_mode": self.approval_mode,
            "required_approvals": self.required_approvals,
            "eligible_approver_ids": self.eligible_approver_ids,
            "max_seconds": self.max_seconds,
            "reasons": self.reasons,
        }


def reasons_text(reasons):
    """The policy's reasons as one piece of prose: each a sentence, joined by spaces."""
    return " ".join(r if r.rstrip().endswith((".", "!", "?", "…")) else f"{r}." for r in reasons if r)


def human_duration(seconds):
    """3600 -> '1 h', 5400 -> '1 h 30 min', 90 -> '1 min 30 s'."""
    parts = []
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    for value, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")):
        if value:
            parts.append(f"{value} {unit}")
    return " ".join(parts) or "0 s"


# Why a person has a stake, in the order the reasons are given.
STAKES = ("holder", "requester", "on_behalf_of", "workload_owner")


def whose_access(*, holder=None, requester=None, on_behalf_of=None, workload_owner=None):
    """Whose access this is: {person id: stake} for everyone who may not approve or certify it.

    The one answer for requests (`conflicted_people`, `services.check_can_decide`) and
    access reviews (`reviews.decisions.is_own_access`) alike. Arguments are person ids:
    the person the access is about (`holder`: an owner's assignment), the person who asked,
    the person a workload acts for, and the owner of the workload asking or holding it.
    """
    stakes = {}
    for stake, pk in zip(STAKES, (holder, requester, on_behalf_of, workload_owner), strict=True):
        if pk is not None:
            stakes.setdefault(pk, stake)
    return stakes


def conflicted_people(ctx):
    """People who may not approve this request (separation of duties)."""
    ids = [p.id if p is not None else None for p in (ctx.requester, ctx.on_behalf_of, ctx.workload_owner)]
    return set(whose_access(requester=ids[0], on_behalf_of=ids[1], workload_owner=ids[2]))


def eligible_approvers(ctx):
    """Active owners of the workflow who have no stake in the request, control owner first."""
    conflicted = conflicted_people(ctx)
    eligible = []
    for person in (ctx.control_owner, ctx.backup_owner):
        if person is None or not (person.is_active and person.may_decide):
            continue
        if person.id not in conflicted and person.id not in eligible:
            eligible.append(person.id)
    return eligible


def _deny_reasons(ctx):
    reasons = []
    if ctx.workflow_status != WorkflowStatus.ACTIVE:
        reasons.append(f"Workflow “{ctx.workflow_name}” is {ctx.workflow_status}, not active.")
    owner = ctx.control_owner
    if owner is None or not owner.is_active:
        reasons.append(f"Workflow “{ctx.workflow_name}” has no active control owner.")
    if ctx.review_due is not None:
        deadline = ctx.review_due + timedelta(days=ctx.review_grace_days)
        if ctx.now > deadline:
            reasons.append(
                f"The access review of “{ctx.workflow_name}” was due on {ctx.review_due:%Y-%m-%d} and is overdue "
                f"past its {ctx.review_grace_days}-day grace period."
            )
    if ctx.workload_label is not None:
        if ctx.workload_status != WorkloadStatus.ACTIVE:
            reasons.append(f"Workload “{ctx.workload_label}” is {ctx.workload_status}.")
        if not ctx.workload_in_workflow:
            reasons.append(f"Workload “{ctx.workload_label}” is not bound to workflow “{ctx.workflow_name}”.")
        if ctx.on_behalf_of is None:
            reasons.append("A workload must name the person it acts for.")
        elif not ctx.on_behalf_of.is_active:
            reasons.append(f"{ctx.on_behalf_of.label}, on whose behalf the workload acts, is not active.")
    elif ctx.requester is not None and not ctx.requester.is_active:
        reasons.append(f"{ctx.requester.label} is not active.")
    if ctx.approval_mode is None:
        reasons.append(f"Entitlement “{ctx.scope}” is not part of workflow “{ctx.workflow_name}”.")
        return reasons
    if ctx.approval_mode == ApprovalMode.DENY:
        reasons.append(f"The policy for “{ctx.scope}” in “{ctx.workflow_name}” denies every request.")
    max_seconds = min(ctx.policy_max_seconds, ctx.entitlement_max_seconds)
    if ctx.duration_seconds <= 0:
        reasons.append("The requested duration must be positive.")
    elif ctx.duration_seconds > max_seconds:
        reasons.append(
            f"The requested duration of {human_duration(ctx.duration_seconds)} exceeds the maximum of "
            f"{human_duration(max_seconds)} for “{ctx.scope}”."
        )
    if ctx.task_ref_required and not ctx.task_ref.strip():
        reasons.append("A task reference (run, ticket or job id) is required.")
    if ctx.justification_required and not ctx.justification.strip():
        reasons.append("A justification is required.")
    return reasons


# How many approvals each mode asks for; a deny asks for more than anyone can give.
APPROVALS_NEEDED = {ApprovalMode.AUTO: 0, ApprovalMode.OWNER: 1, ApprovalMode.TWO_PERSON: 2, ApprovalMode.DENY: 99}


def default_mode(risk_tier, access_level):
    """The approval mode the default rules give, and the reason for it."""
    tier = RiskTier(risk_tier).label.lower()
    if risk_tier in TWO_PERSON_TIERS:
        return ApprovalMode.TWO_PERSON, f"Access in a {tier}-risk workflow needs two distinct approvers."
    if access_level == AccessLevel.READ and risk_tier in AUTO_APPROVE_TIERS:
        return ApprovalMode.AUTO, f"Read access in a {tier}-risk workflow is approved automatically."
    level = AccessLevel(access_level).label.lower()
    if access_level == AccessLevel.READ:
        return ApprovalMode.OWNER, f"Read access in a {tier}-risk workflow needs the control owner's approval."
    return ApprovalMode.OWNER, f"{level.capitalize()} access needs the control owner's approval."


def effective_mode(approval_mode, risk_tier, access_level):
    """The mode a policy's setting comes to ("default" resolved by the default rules)."""
    if approval_mode == ApprovalMode.DEFAULT:
        return default_mode(risk_tier, access_level)[0]
    return approval_mode


def approval_rule(*, approval_mode, risk_tier, access_level, scope):
    """The approval mode a policy stands for, and why: the policy's own mode, or the
    default rules' answer for the workflow's risk tier and the entitlement's access level.
    Shared by decisions and by the pages that say what a workload may ask for."""
    if approval_mode != ApprovalMode.DEFAULT:
        label = ApprovalMode(approval_mode).label.lower()
        return approval_mode, f"The policy for “{scope}” requires {label}."
    return default_mode(risk_tier, access_level)


def _mode(ctx):
    """The approval mode that applies, and the reason for it."""
    mode, why = approval_rule(
        approval_mode=ctx.approval_mode, risk_tier=ctx.risk_tier, access_level=ctx.access_level, scope=ctx.scope
    )
    if mode == ApprovalMode.AUTO and ctx.missed_review:
        # What a missed deadline revoked is not handed back without anyone looking.
        return ApprovalMode.OWNER, (
            f"{why} But {ctx.missed_review} was missed and revoked this access, so until it is completed "
            "an owner approves each request."
        )
    return mode, why


def evaluate(ctx: RequestContext) -> Evaluation:
    """Decide a request: auto-approve, needs approval (by whom), or deny — with reasons."""
    reasons = _deny_reasons(ctx)
    if reasons:
        return Evaluation(effect=PolicyEffect.DENY, reasons=reasons)
    max_seconds = min(ctx.policy_max_seconds, ctx.entitlement_max_seconds)
    mode, why = _mode(ctx)
    if mode == ApprovalMode.AUTO:
        return Evaluation(
            effect=PolicyEffect.AUTO_APPROVE,
            approval_mode=mode,
            max_seconds=max_seconds,
            reasons=[
                why,
                f"Granted for {human_duration(ctx.duration_seconds)} (maximum {human_duration(max_seconds)}).",
            ],
        )
    required = 2 if mode == ApprovalMode.TWO_PERSON else 1
    eligible = eligible_approvers(ctx)
    if len(eligible) < required:
        conflicted = " (the requester and the workload's owner may not approve)" if conflicted_people(ctx) else ""
        return Evaluation(
            effect=PolicyEffect.DENY,
            approval_mode=mode,
            required_approvals=required,
            reasons=[
                why,
                f"It needs {required} distinct approver{'s' if required > 1 else ''} but only {len(eligible)} "
                f"eligible owner{'s are' if len(eligible) != 1 else ' is'} available{conflicted}.",
            ],
        )
    return Evaluation(
        effect=PolicyEffect.NEEDS_APPROVAL,
        approval_mode=mode,
        required_approvals=required,
        eligible_approver_ids=eligible,
        max_seconds=max_seconds,
        reasons=[why],
    )
