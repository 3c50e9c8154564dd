"""Approvals through ticket queues: open, read back, decide, mirror. Services, not views.

The adapters in `approvals.tickets` talk to the remote systems; this module owns every
state change that follows: the `TicketLink`, the connection's health, and — through
`approvals.services.decide`, the same service the browser uses — the decision itself.
A ticket is only ever a hint: its status and actor are re-read through the API, the actor
is mapped to a person of the workflow's identity source, and Mandate's own rules decide.
"""

import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch
from django.utils import timezone

from governance.exceptions import IllegalTransition, MandateError
from identities.models import User, WorkloadIdentity

from .choices import RequestState
from .models import AccessRequest, OutboxMessage, QueueConnection, TicketLink
from .outbox import enqueue, handler
from .tickets import APPROVE, PENDING, TicketContent, TicketError

log = logging.getLogger("approvals.tickets")

OPEN, COMMENT, CLOSE = "ticket.open", "ticket.comment", "ticket.close"
# The polling job runs every 30 s and a queue's interval is a multiple of that: a job that
# starts a moment early must not skip the round (that would double the wait).
POLL_SLACK_SECONDS = 5


# --------------------------------------------------------------------------- content
def request_url(request):
    try:
        path = request.get_absolute_url()
    except NoReverseMatch:  # the portal pages are optional in a headless deployment
        path = f"/requests/{request.pk}/"
    return f"{settings.SITE_URL}{path}"


def _reason_text(reason):
    if isinstance(reason, dict):
        return str(reason.get("message") or reason.get("reason") or reason.get("code") or reason)
    return str(reason)


def tag_key(created_at):
    """Eight hex digits of a creation time. With the id, a ticket's tag names one object only:
    a restored backup or a staging copy sharing the queue reuses ids, not creation times."""
    return hashlib.sha256(f"{created_at.timestamp():.6f}".encode()).hexdigest()[:8]


def request_content(request) -> TicketContent:
    """The request as plain data for an adapter: who, what, where, how long, why, who decides."""
    approvers = User.objects.filter(pk__in=request.eligible_approver_ids or []).order_by("username")
    initiator = request.initiator
    return TicketContent(
        request_id=request.pk,
        request_url=request_url(request),
        subject=str(request.workload) if request.workload_id else str(request.requested_by),
        subject_is_workload=bool(request.workload_id),
        on_behalf_of=str(request.on_behalf_of) if request.on_behalf_of_id else "",
        entitlement=request.entitlement.scope,
        entitlement_name=request.entitlement.name,
        access_level=request.entitlement.get_access_level_display(),
        workflow=request.workflow.name,
        business_process=request.workflow.business_process,
        duration_seconds=request.duration_seconds,
        task_ref=request.task_ref,
        justification=request.justification,
        reasons=tuple(_reason_text(r) for r in request.decision_reasons or []),
        approvers=tuple(u.label for u in approvers),
        requester_email=initiator.email if initiator else "",
        request_key=tag_key(request.created_at),
    )


# --------------------------------------------------------------------------- connection health
def record_connection_result(connection_id, *, error=""):
    now = timezone.now()
    if error:
        QueueConnection.objects.filter(pk=connection_id).update(last_error=error[:2000], last_error_at=now)
    else:
        QueueConnection.objects.filter(pk=connection_id).update(last_success_at=now, last_error="")


def test_connection(connection):
    """Run the adapter's configuration check and record the outcome on the connection."""
    try:
        result = connection.adapter().check_configuration()
    except TicketError as exc:
        from .tickets import CheckResult

        result = CheckResult(False, (exc.message,))
    record_connection_result(connection.pk, error="" if result.ok else " ".join(result.messages))
    return result


# --------------------------------------------------------------------------- outbox: open / comment / close
def queue_ticket_open(request):
    """Called in the submitting transaction: a pending request with a queue gets a ticket."""
    queue = request.workflow.queue
    if request.state != RequestState.PENDING or queue is None or not queue.enabled or not queue.adapter().remote:
        return None
    return enqueue(OPEN, {"request_id": request.pk, "connection_id": queue.pk}, key=f"{OPEN}:{request.pk}:{queue.pk}")


def connections_holding(links, open_key_prefix):
    """Ids of the queues holding (or about to hold) a ticket: linked, or with an opening row
    still on its way (keys end in the connection id)."""
    ids = set(links.values_list("connection_id", flat=True))
    for key in OutboxMessage.objects.filter(
        idempotency_key__startswith=open_key_prefix, failed_at__isnull=True
    ).values_list("idempotency_key", flat=True):
        ids.add(int(key.rsplit(":", 1)[1]))
    return sorted(ids)


def _connections_of(request):
    return connections_holding(request.ticket_links.all(), f"{OPEN}:{request.pk}:")


def queue_ticket_comment(request, text, *, event):
    for connection_id in _connections_of(request):
        enqueue(
            COMMENT,
            {"request_id": request.pk, "connection_id": connection_id, "text": text},
            key=f"{COMMENT}:{request.pk}:{connection_id}:{event}",
        )


def queue_ticket_close(request, *, outcome, comment, event):
    for connection_id in _connections_of(request):
        enqueue(
            CLOSE,
            {"request_id": request.pk, "connection_id": connection_id, "outcome": outcome, "comment": comment},
            key=f"{CLOSE}:{request.pk}:{connection_id}:{event}",
        )


def _record_open_failure(payload, error):
    request_id = payload.get("request_id")
    record_connection_result(
        payload.get("connection_id"), error=f"Opening a ticket for request #{request_id} failed: {error}"
    )


@handler(OPEN, on_failure=_record_open_failure)
def deliver_open(payload):
    request = (
        AccessRequest.objects.select_related("workflow", "entitlement", "workload", "requested_by", "on_behalf_of")
        .filter(pk=payload["request_id"])
        .first()
    )
    connection = QueueConnection.objects.filter(pk=payload["connection_id"]).first()
    if request is None or connection is None:
        return
    if TicketLink.objects.filter(request=request, connection=connection).exists():
        return
    if request.state != RequestState.PENDING:
        return  # settled in the portal before the queue was reached: nothing to ask anyone
    if not connection.enabled:
        raise TicketError(f"The queue “{connection.name}” is disabled.", permanent=True)
    ref = call_adapter(connection, lambda adapter: adapter.open_ticket(request_content(request)))
    record_ticket_opened(request, connection, ref)


def record_ticket_opened(request, connection, ref):
    """Remember where the request's ticket is (idempotent)."""
    return record_link(connection, ref, request=request)


def record_link(connection, ref, **subject):
    """Remember where the ticket of `subject` (request= or campaign=) is; idempotent.

    A ticket created beside the one already linked (a delivery that outlived its lease
    while the next one succeeded) is closed as a duplicate, so nobody acts on it.
    """
    link, created = TicketLink.objects.get_or_create(
        connection=connection, **subject, defaults={"external_key": ref.key, "url": ref.url[:500]}
    )
    if not created and ref.created and link.external_key != ref.key:
        log.warning("closing duplicate ticket %s of %s (kept %s)", ref.key, subject, link.external_key)
        call_adapter(
            connection,
            lambda adapter: adapter.close_ticket(
                ref.key,
                outcome="denied",
                comment=f"Mandate: duplicate of ticket {link.external_key} {link.url}; only that one counts.",
            ),
        )
    return link


def link_or_wait(connection_id, open_key, **subject):
    """The ticket to write on, None if there is none and will be none, or a transient
    TicketError while its opening row is still being delivered."""
    link = TicketLink.objects.select_related("connection").filter(connection_id=connection_id, **subject).first()
    if link is not None:
        return link
    opening = OutboxMessage.objects.filter(idempotency_key=open_key).first()
    if opening is None or opening.failed_at or opening.delivered_at:
        return None  # no ticket was ever opened (or could be): nothing to write on
    raise TicketError("The ticket is not open yet; trying again shortly.", permanent=False)


def _link_for(payload):
    request_id, connection_id = payload["request_id"], payload["connection_id"]
    return link_or_wait(connection_id, f"{OPEN}:{request_id}:{connection_id}", request_id=request_id)


@handler(COMMENT)
def deliver_comment(payload):
    link = _link_for(payload)
    if link is not None:
        call_adapter(link.connection, lambda adapter: adapter.add_comment(link.external_key, payload["text"]))


@handler(CLOSE)
def deliver_close(payload):
    link = _link_for(payload)
    if link is None:
        return
    call_adapter(
        link.connection,
        lambda adapter: adapter.close_ticket(
            link.external_key, outcome=payload["outcome"], comment=payload.get("comment", "")
        ),
    )
    TicketLink.objects.filter(pk=link.pk, closed_at__isnull=True).update(closed_at=timezone.now())


def call_adapter(connection, action):
    """Run one adapter call, keeping the connection's last success / last error current."""
    try:
        result = action(connection.adapter())
    except TicketError as exc:
        record_connection_result(connection.pk, error=exc.message)
        raise
    record_connection_result(connection.pk)
    return result


# --------------------------------------------------------------------------- reading decisions back
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
    if link.request_id is None:
        return "ignored"  # a review's ticket: the review is decided in Mandate, item by item
    state = call_adapter(link.connection, lambda adapter: adapter.fetch_ticket(link.external_key))
    with transaction.atomic():
        # `of=("self",)`: the request is on the nullable side of the join (a review's link has
        # none), and PostgreSQL refuses to lock that side.
        link = (
            TicketLink.objects.select_for_update(of=("self",))
            .select_related("request__workflow__identity_source")
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
        return _apply_decision(link, state)


def _apply_decision(link, state):
    request = link.request
    if request.state != RequestState.PENDING:
        return "settled"
    verb = "approval" if state.decision == APPROVE else "denial"
    approver, why_not = map_actor(request.workflow, state.actor)
    if approver is not None:
        from . import services

        try:
            with transaction.atomic():
                request = services.decide(
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
    queue_ticket_comment(
        request,
        f"Mandate did not accept this {verb} by {state.actor or 'an unknown user'}: {why_not} "
        "The request is still pending; an eligible approver must decide.",
        event=f"refused:{link.pk}:{state.marker}",
    )
    return "refused"


# --------------------------------------------------------------------------- webhooks and polling
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
    link = TicketLink.objects.filter(
        connection=connection, external_key=event.ticket_key, request__isnull=False
    ).first()
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
        links = TicketLink.objects.filter(
            connection=connection, closed_at__isnull=True, request__state=RequestState.PENDING
        ).values_list("pk", flat=True)
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
