"""A registry change's ticket: open it when a widening change waits for a second person,
reopen it when a decision read from it was refused, close it when the change is settled.

A change goes to the queue of the workflow it concerns, like that workflow's access
requests (a change of an entitlement alone concerns no workflow: it waits in the
deciders' inbox). The `queue_*` functions run inside the proposing or deciding
transaction and only write outbox rows; the handlers run in the relay and are idempotent
(an existing link or a settled change makes a second delivery a no-op), so a retry never
opens a second ticket: that flow is `ticket_flow`'s, shared with a request's ticket.
Decisions come back through `decisions.sync_ticket`.
"""

from approvals.queues.connections import tag_key
from approvals.queues.outbox import handler
from approvals.queues.ticket_flow import TicketFlow, page_url, remote_queue
from approvals.tickets import ChangeTicketContent
from governance.changes.decisions import route_label
from governance.changes.models import RegistryChange
from identities.models import User

FLOW = TicketFlow("change_ticket", "change", opening="Opening a ticket for registry change #{}")
OPEN, CLOSE, REOPEN = FLOW.open, FLOW.close, FLOW.reopen
# Shown beside the new value; the workflow and entitlement have lines of their own.
NOT_LISTED = {"workflow", "entitlement"}


def change_url(change):
    return page_url(change, f"/registry/changes/{change.pk}/")


def _shown(name, value):
    if value in (None, ""):
        return "—"
    if name.endswith("owner"):
        person = User.objects.filter(pk=value).first()
        return person.label if person else f"#{value}"
    return str(value)


def change_content(change) -> ChangeTicketContent:
    """The change as plain data: what it does, who proposed it, what widens, who decides."""
    before = change.before or {}
    rows = tuple(
        (name, f"{_shown(name, before[name])} → {_shown(name, value)}" if name in before else _shown(name, value))
        for name, value in sorted(change.changes.items())
        if name not in NOT_LISTED
    )
    return ChangeTicketContent(
        change_id=change.pk,
        change_url=change_url(change),
        summary=change.summary,
        change_kind=change.get_kind_display(),
        author=change.author.label,
        workflow=str(change.workflow) if change.workflow_id else "",
        entitlement=change.entitlement.scope if change.entitlement_id else "",
        widens=tuple(str(r) for r in change.reasons or []),
        changes=rows,
        decider=route_label(change),
        author_email=change.author.email,
        change_key=tag_key(change.created_at),
    )


def queue_change_open(change):
    """Called in the proposing transaction: a pending change of a workflow with a queue gets a ticket."""
    queue = remote_queue(change.workflow.queue if change.workflow_id else None)
    if not change.is_pending or queue is None:
        return None
    return FLOW.queue_open(change, queue)


def queue_change_reopen(change, text, *, event):
    """A decision read from the ticket was refused: put the ticket back before the deciders."""
    FLOW.queue_everywhere(REOPEN, change, event=event, text=text)


def queue_change_close(change):
    """Called in the deciding transaction: close the change's tickets, saying how it ended."""
    who = f" by {change.decided_by}" if change.decided_by_id else ""
    text = f"Mandate: registry change #{change.pk} is {change.get_state_display().lower()}{who}."
    if change.comment:
        text += f" {change.comment}"
    outcome = "approved" if change.state == "approved" else "denied"
    FLOW.queue_everywhere(CLOSE, change, outcome=outcome, comment=text)


@handler(OPEN, on_failure=FLOW.record_open_failure)
def deliver_change_open(payload):
    FLOW.deliver_open(
        payload,
        RegistryChange.objects.select_related("workflow", "entitlement__resource_owner", "author"),
        waiting=lambda change: change.is_pending,
        content=change_content,
    )


handler(REOPEN)(FLOW.deliver_reopen)
handler(CLOSE)(FLOW.deliver_close)
