"""Decisions taken in a ticket, read back: by webhook, by an explicit sync, or by polling.

A ticket is only ever a hint: its status and actor are re-read through the adapter, the
actor is mapped to a person of the workflow's identity source, and Mandate's own rules
decide, through the same service the browser uses: `approvals.services.decide` for an
access request, `governance.changes.decisions.decide_change` for a registry change (which
refuses its author, so nobody approves their own change from a ticket either).
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals.choices import RequestState
from approvals.models import QueueConnection, TicketLink
from approvals.queues.change_tickets import queue_change_reopen
from approvals.queues.connections import call_adapter
from approvals.queues.request_tickets import queue_ticket_comment, queue_ticket_reopen
from approvals.services import decide
from approvals.tickets import APPROVE, PENDING, TicketError
from governance.changes.decisions import decide_change
from governance.choices import ChangeState
from governance.exceptions import IllegalTransition, MandateError
from identities.models import User, WorkloadIdentity

log = logging.getLogger("approvals.tickets")

# The polling job runs every 30 s and a queue's interval is a multiple of that: a job that
# starts a moment early must not skip the round (that would double the wait).
POLL_SLACK_SECONDS = 5


def map_actor(workflow, actor):
    """The person of the workflow's identity source behind a ticket actor, or (None, why not)."""
    if actor is None:
        return None, "Mandate could not tell from the ticket's history who made this change."
    names = [n for n in (actor.username, actor.email) if n]
    if actor.is_bot or (
        names
        and WorkloadIdentity.objects.filter(
            Q(slug__in=[n.lower() for n in names]) | Q(external_principal__in=names)
        ).exists()
    ):
        return None, f"“{actor}” is a workload's account: workloads never approve access."
    people = User.objects.filter(identity_source=workflow.identity_source, is_active=True)
    for field, value in (("email__iexact", actor.email), ("username__iexact", actor.username)):
        if value:
            matches = list(people.filter(**{field: value})[:2])
            if len(matches) == 1:
                return matches[0], ""
    return None, (
        f"“{actor}” is not a known person in {workflow.identity_source}, the identity source of “{workflow}”."
    )


def sync_ticket(link_id):
    """Re-read one ticket and act on a decision found there. Returns a short outcome word.

    Safe to call from a webhook, the poller and a replay at once: the new status marker is
    written under a row lock, and only the caller that wrote it acts.
    """
    link = TicketLink.objects.select_related("connection").filter(pk=link_id).first()
    if link is None or link.closed_at:
        return "closed"
    if link.request_id is None and link.change_id is None:
        return "ignored"  # a review's ticket: the review is decided in Mandate, item by item
    state = call_adapter(link.connection, lambda adapter: adapter.fetch_ticket(link.external_key))
    with transaction.atomic():
        # `of=("self",)`: the request and the change are on the nullable side of the join (a
        # link has one or the other), and PostgreSQL refuses to lock that side.
        link = (
            TicketLink.objects.select_for_update(of=("self",))
            .select_related("request__workflow__identity_source", "change__workflow__identity_source")
            .get(pk=link.pk)
        )
        link.last_checked_at = timezone.now()
        if link.last_seen_marker == state.marker:
            link.save(update_fields=["last_checked_at", "updated_at"])
            return "unchanged"
        link.last_seen_marker, link.last_seen_status = state.marker, state.status[:100]
        link.save(update_fields=["last_checked_at", "last_seen_marker", "last_seen_status", "updated_at"])
        if state.decision == PENDING:
            return "pending"
        if link.change_id:
            return _apply_change_decision(link, state)
        return _apply_decision(link, state)


def _apply_decision(link, state):
    request = link.request
    if request.state != RequestState.PENDING:
        return "settled"
    verb = "approval" if state.decision == APPROVE else "denial"
    approver, why_not = map_actor(request.workflow, state.actor)
    if approver is not None:
        try:
            with transaction.atomic():
                request = decide(
                    request,
                    approver=approver,
                    decision="approve" if state.decision == APPROVE else "deny",
                    channel="ticket",
                    comment=f"{link.connection.name} ticket {link.external_key}: status “{state.status}”.",
                )
        except IllegalTransition as exc:
            request.refresh_from_db()
            if request.state != RequestState.PENDING:
                return "settled"
            why_not = exc.message
        except MandateError as exc:
            why_not = exc.message
        else:
            if request.state == RequestState.PENDING:
                queue_ticket_comment(
                    request,
                    f"Mandate recorded {approver}'s approval; the policy needs another approver before access is "
                    "granted.",
                    event=f"partial:{link.pk}:{state.marker}",
                )
            return "decided"
    # Reopened, not just commented: a ticket left resolved drops out of the approvers' open queue.
    queue_ticket_reopen(
        request,
        f"Mandate did not accept this {verb} by {state.actor or 'an unknown user'}: {why_not} "
        "The request is still pending; the ticket is open again for an eligible approver to decide.",
        event=f"refused:{link.pk}:{state.marker}",
    )
    return "refused"


def _apply_change_decision(link, state):
    change = link.change
    if change.state != ChangeState.PENDING:
        return "settled"
    verb = "approval" if state.decision == APPROVE else "denial"
    decider, why_not = map_actor(change.workflow, state.actor)
    if decider is not None:
        try:
            with transaction.atomic():
                decide_change(
                    change,
                    by=decider,
                    decision="approve" if state.decision == APPROVE else "deny",
                    comment=f"{link.connection.name} ticket {link.external_key}: status “{state.status}”.",
                )
        except IllegalTransition as exc:
            change.refresh_from_db()
            if change.state != ChangeState.PENDING:
                return "settled"
            why_not = exc.message
        except MandateError as exc:
            why_not = exc.message
        else:
            return "decided"
    queue_change_reopen(
        change,
        f"Mandate did not accept this {verb} by {state.actor or 'an unknown user'}: {why_not} "
        "The change is still pending; the ticket is open again for someone who may decide it.",
        event=f"refused:{link.pk}:{state.marker}",
    )
    return "refused"


def handle_webhook(connection, headers, body):
    """Verify, reduce to a ticket key, and sync that ticket. Returns (http status, outcome)."""
    adapter = connection.adapter()
    if not connection.enabled or not adapter.remote:
        return 404, "unknown"
    if not adapter.verify_webhook(headers, body):
        return 401, "bad signature"
    try:
        event = adapter.parse_webhook(headers, body)
    except TicketError as exc:
        return 400, exc.message
    link = (
        TicketLink.objects.filter(connection=connection, external_key=event.ticket_key)
        .filter(Q(request__isnull=False) | Q(change__isnull=False))
        .first()
    )
    if not event.ticket_key or link is None:
        return 202, "ignored"
    try:
        return 200, sync_ticket(link.pk)
    except TicketError as exc:
        # The ticket system is slow or down: the poller will read the ticket later.
        log.info("webhook %s: sync of %s postponed: %s", event.event_id, link, exc.message)
        return 202, "postponed"


def poll_queues(now=None):
    """Re-read open tickets of every queue whose polling interval has passed."""
    now = now or timezone.now()
    summary = {}
    for connection in QueueConnection.objects.filter(enabled=True).exclude(kind="portal"):
        due_before = now - timezone.timedelta(seconds=connection.poll_interval_seconds - POLL_SLACK_SECONDS)
        if connection.last_polled_at and connection.last_polled_at > due_before:
            continue
        # Two pollers at once: the database lets only one take this round.
        taken = QueueConnection.objects.filter(pk=connection.pk, last_polled_at=connection.last_polled_at).update(
            last_polled_at=now
        )
        if not taken:
            continue
        links = (
            TicketLink.objects.filter(connection=connection, closed_at__isnull=True)
            .filter(Q(request__state=RequestState.PENDING) | Q(change__state=ChangeState.PENDING))
            .values_list("pk", flat=True)
        )
        for link_id in links:
            try:
                outcome = sync_ticket(link_id)
            except TicketError as exc:
                outcome = "error"
                if not exc.permanent:
                    summary[outcome] = summary.get(outcome, 0) + 1
                    break  # the system is struggling: leave the rest for the next round
            summary[outcome] = summary.get(outcome, 0) + 1
    return summary
