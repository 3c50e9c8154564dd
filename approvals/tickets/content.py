"""What a ticket says: everything an approver needs to act without opening Mandate."""

from dataclasses import dataclass


def humanize_seconds(seconds: int) -> str:
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes or 1} min" if seconds >= 60 or seconds == 0 else f"{seconds} s"


@dataclass(frozen=True)
class TicketContent:
    """A request as plain data, ready to be written into any ticket system."""

    request_id: int
    request_url: str
    subject: str  # who: "Alice Example", or "PR coding agent (workload)"
    subject_is_workload: bool
    on_behalf_of: str  # the person a workload acts for ("" for a person's own request)
    entitlement: str  # scope, e.g. github:repo:write
    access_level: str
    workflow: str
    business_process: str
    duration_seconds: int
    task_ref: str = ""
    justification: str = ""
    entitlement_name: str = ""
    reasons: tuple = ()
    approvers: tuple = ()
    requester_email: str = ""

    @property
    def title(self) -> str:
        who = f"{self.subject} for {self.on_behalf_of}" if self.subject_is_workload else self.subject
        return f"Access request #{self.request_id}: {self.entitlement} ({self.access_level}) for {who}"[:250]

    def fields(self) -> list:
        """(label, value) pairs in reading order; empty values are left out."""
        who = self.subject
        if self.subject_is_workload:
            who = f"{self.subject} (AI workload) acting for {self.on_behalf_of}"
        rows = [
            ("Who", who),
            ("Entitlement", f"{self.entitlement} — {self.entitlement_name}".rstrip(" —")),
            ("Access level", self.access_level),
            ("Workflow", self.workflow),
            ("Business process", self.business_process),
            ("Task", self.task_ref or "—"),
            ("For how long", humanize_seconds(self.duration_seconds)),
            ("Why", self.justification or "—"),
            ("Policy", "; ".join(self.reasons) if self.reasons else "—"),
            ("Who may approve", ", ".join(self.approvers) if self.approvers else "—"),
        ]
        return [(label, value) for label, value in rows if value]

    @property
    def instructions(self) -> str:
        return (
            "Decide here by changing the ticket's status (or label) as configured, or in Mandate. "
            "Mandate re-checks every decision: only an eligible approver's decision counts."
        )

    def as_text(self) -> str:
        lines = [f"{label}: {value}" for label, value in self.fields()]
        return "\n".join([*lines, "", f"Request in Mandate: {self.request_url}", "", self.instructions])

    def as_markdown(self) -> str:
        lines = [f"- **{label}:** {value}" for label, value in self.fields()]
        return "\n".join(
            [*lines, "", f"[Open request #{self.request_id} in Mandate]({self.request_url})", "", self.instructions]
        )
