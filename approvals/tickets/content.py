"""What a ticket says: everything a person needs to act without opening Mandate.

Three kinds of ticket: an access request waiting for a decision (`TicketContent`), a
registry change waiting for a second person (`ChangeTicketContent`), and an
access review chasing its owner (`ReviewTicketContent`). Each carries `kind` and `tag_id`,
from which an adapter builds the tag (label, custom field, correlation id) that finds the
ticket again, and all render as plain text, Markdown or a list of labelled facts.
"""

from dataclasses import dataclass

from approvals.policy import reasons_text


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
    # Tells this request from another database's request with the same id (a restored
    # backup, a staging copy sharing the queue), so a retry never adopts a stranger's ticket.
    request_key: str = ""

    kind = "request"
    #: The ticket's status (or label) is read back as a decision.
    asks_decision = True
    lead = ""

    @property
    def tag_id(self) -> str:
        return f"{self.request_id}-{self.request_key}" if self.request_key else str(self.request_id)

    @property
    def url(self) -> str:
        return self.request_url

    @property
    def link_label(self) -> str:
        return f"Open request #{self.request_id} in Mandate"

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
            ("Policy", reasons_text(self.reasons) if self.reasons else "—"),
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


@dataclass(frozen=True)
class ReviewTicketContent:
    """An access review as plain data: the ticket that chases its owner in their queue.

    Nothing is decided in this ticket; the owner decides each item in Mandate, which
    comments the later reminders here and closes the ticket when the review is complete.
    """

    campaign_id: int
    title: str
    message: str  # the reminder, plain text, without the link (that is `url`)
    url: str
    campaign_key: str = ""  # like TicketContent.request_key

    kind = "review"
    asks_decision = False
    requester_email = ""
    instructions = (
        "Decide each item in Mandate (keep, revoke or suspend). Mandate adds the next reminders here and "
        "closes this ticket when the review is complete; changing the ticket changes nothing in Mandate."
    )

    @property
    def tag_id(self) -> str:
        return f"{self.campaign_id}-{self.campaign_key}" if self.campaign_key else str(self.campaign_id)

    @property
    def link_label(self) -> str:
        return "Open the access review in Mandate"

    @property
    def lead(self) -> str:
        return self.message

    def fields(self) -> list:
        return []

    def as_text(self) -> str:
        return "\n".join([self.message, "", f"Review in Mandate: {self.url}", "", self.instructions])

    def as_markdown(self) -> str:
        return "\n".join([self.message, "", f"[{self.link_label}]({self.url})", "", self.instructions])


@dataclass(frozen=True)
class ChangeTicketContent:
    """A registry change that widens access, as plain data: the ticket asks its decider.

    Decided like a request's ticket: the status (or label) is read back, and Mandate
    re-checks that the person who set it may decide the change (never its author).
    """

    change_id: int
    change_url: str
    summary: str  # what the change does, in one line
    change_kind: str  # "Activate a workflow", "Add an entitlement to a workflow", …
    author: str
    workflow: str = ""
    entitlement: str = ""
    widens: tuple = ()  # one sentence per widening field: why a second person decides it
    changes: tuple = ()  # ("field", "before → after") pairs
    decider: str = ""  # who may approve: a resource owner, or the security team
    author_email: str = ""
    change_key: str = ""  # like TicketContent.request_key

    kind = "change"
    asks_decision = True
    lead = ""

    @property
    def tag_id(self) -> str:
        return f"{self.change_id}-{self.change_key}" if self.change_key else str(self.change_id)

    @property
    def url(self) -> str:
        return self.change_url

    @property
    def requester_email(self) -> str:
        return self.author_email

    @property
    def link_label(self) -> str:
        return f"Open registry change #{self.change_id} in Mandate"

    @property
    def title(self) -> str:
        return f"Registry change #{self.change_id}: {self.summary} (by {self.author})"[:250]

    def fields(self) -> list:
        rows = [
            ("Change", self.change_kind),
            ("Proposed by", self.author),
            ("Workflow", self.workflow),
            ("Entitlement", self.entitlement),
            *((f"New {name.replace('_', ' ')}", value) for name, value in self.changes),
            ("What widens", " ".join(self.widens) or "—"),
            ("Who may approve", f"{self.decider}, never the author ({self.author})" if self.decider else "—"),
        ]
        return [(label, value) for label, value in rows if value]

    @property
    def instructions(self) -> str:
        return (
            "Decide here by changing the ticket's status (or label) as configured, or in Mandate. "
            "Mandate re-checks every decision: the author's own decision never counts, and a denial "
            "taken here is recorded with this ticket as its reason."
        )

    def as_text(self) -> str:
        lines = [f"{label}: {value}" for label, value in self.fields()]
        return "\n".join([*lines, "", f"Change in Mandate: {self.change_url}", "", self.instructions])

    def as_markdown(self) -> str:
        lines = [f"- **{label}:** {value}" for label, value in self.fields()]
        return "\n".join([*lines, "", f"[{self.link_label}]({self.change_url})", "", self.instructions])
