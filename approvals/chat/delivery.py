"""Chat deliveries through the outbox: post a pending request to Slack (a channel and/or
the approvers' direct messages), update those messages in place as the request moves on,
answer a Slack user privately, post notices to Teams, and send the daily Slack digests.

The `queue_*` functions run inside the caller's transaction and only write outbox rows;
the handlers run in the relay, outside any transaction. A Slack or Teams outage therefore
never blocks a request, a decision or an expiry: the row waits and is retried with backoff.
Posting is idempotent per (request, installation, recipient) once recorded; a message is
rendered from the request as it is when delivered, so updates can never go backwards.
"""

import requests
from django.conf import settings
from django.utils import timezone

from approvals.chat import slack
from approvals.chat.messages import decision_lines, request_facts, request_message, teams_card
from approvals.chat.models import ChatDigest, ChatMessage, SlackAccount, SlackConnection, WorkflowChat
from approvals.choices import RequestState
from approvals.models import AccessRequest, TicketLink
from approvals.queues.outbox import enqueue, handler
from approvals.queues.request_tickets import request_content
from approvals.tickets import TicketError
from governance.secret_box import seal, unseal

SLACK_POST, SLACK_UPDATE, SLACK_RESPOND = "chat.slack.post", "chat.slack.update", "chat.slack.respond"
SLACK_DIGEST, TEAMS_POST = "chat.slack.digest", "chat.teams.post"
RESPONSE_URL = "slack-response-url"


def route_of(workflow_id):
    return WorkflowChat.objects.select_related("slack").filter(workflow_id=workflow_id).first()


def slack_recipients(route, request):
    """The channel, then the direct messages of eligible approvers who have a linked Slack
    user and have not turned Slack messages off."""
    recipients = [route.slack_channel] if route.slack_channel else []
    if route.slack_dm_approvers:
        accounts = (
            SlackAccount.objects.filter(
                connection=route.slack, user_id__in=request.eligible_approver_ids or [], user__is_active=True
            )
            .exclude(user__notification_preference__slack_dm=False)
            .order_by("slack_user_id")
        )
        recipients += [a.slack_user_id for a in accounts]
    return recipients


def queue_request_posts(request):
    """Called in the submitting transaction: a pending request goes to the workflow's chat."""
    route = route_of(request.workflow_id)
    if route is None or request.state != RequestState.PENDING:
        return
    if route.slack_id and route.slack.enabled:
        for recipient in slack_recipients(route, request):
            enqueue(
                SLACK_POST,
                {"request_id": request.pk, "connection_id": route.slack_id, "recipient": recipient},
                key=f"{SLACK_POST}:{request.pk}:{route.slack_id}:{recipient}",
            )
    if route.teams_webhook_sealed:
        enqueue(TEAMS_POST, {"request_id": request.pk, "event": "pending"}, key=f"{TEAMS_POST}:{request.pk}:pending")


def queue_request_update(request, *, event, final):
    """Called in the deciding (or closing) transaction, whatever channel decided."""
    route = route_of(request.workflow_id)
    if route is None:
        return
    if route.slack_id:
        enqueue(SLACK_UPDATE, {"request_id": request.pk}, key=f"{SLACK_UPDATE}:{request.pk}:{event}")
    if final and route.teams_webhook_sealed:
        enqueue(TEAMS_POST, {"request_id": request.pk, "event": "outcome"}, key=f"{TEAMS_POST}:{request.pk}:outcome")


def queue_ephemeral(response_url, text, *, key):
    """Answer one Slack user privately through the interaction's `response_url` (valid 30
    minutes, sealed in the row: it lets anyone post into the conversation)."""
    enqueue(SLACK_RESPOND, {"url": seal(response_url, purpose=RESPONSE_URL), "text": text}, key=key)


# ---------------------------------------------------------------- rendering


def _request(request_id):
    return (
        AccessRequest.objects.select_related("workflow", "entitlement", "workload", "requested_by", "on_behalf_of")
        .filter(pk=request_id)
        .first()
    )


def render(request):
    """(text, blocks, shows) of the request's Slack message as it stands now."""
    decisions = [
        {"approver": str(a.approver), "decision": a.decision, "channel": a.channel, "comment": a.comment}
        for a in request.approvals.select_related("approver").order_by("created_at")
    ]
    ticket = TicketLink.objects.filter(request=request).exclude(url="").first()
    text, blocks = request_message(
        request_content(request),
        state=request.state,
        state_label=request.get_state_display(),
        required=request.required_approvals,
        decisions=decisions,
        ticket_url=ticket.url if ticket else "",
    )
    return text, blocks, f"{request.state}:{len(decisions)}"


# ---------------------------------------------------------------- Slack handlers


def _connection(connection_id):
    connection = SlackConnection.objects.filter(pk=connection_id).first()
    if connection is not None and not connection.enabled:
        raise TicketError(f"The Slack installation “{connection.name}” is disabled.", permanent=True)
    return connection


@handler(SLACK_POST)
def deliver_post(payload):
    request, connection = _request(payload["request_id"]), _connection(payload["connection_id"])
    recipient = payload["recipient"]
    if request is None or connection is None or request.state != RequestState.PENDING:
        return  # gone, or settled before Slack was reached: nothing to ask anyone
    if ChatMessage.objects.filter(request=request, connection=connection, recipient=recipient).exists():
        return
    text, blocks, shows = render(request)
    answer = slack.call(connection, "chat_postMessage", channel=recipient, text=text, blocks=blocks, unfurl_links=False)
    message, _ = ChatMessage.objects.get_or_create(
        request=request,
        connection=connection,
        recipient=recipient,
        defaults={"channel": answer["channel"], "ts": answer["ts"], "shows": shows},
    )
    # Decided while the message was on its way: its update may have found nothing to update.
    _update(message)


def _update(message):
    request = _request(message.request_id)
    text, blocks, shows = render(request)
    if message.shows == shows:
        return
    slack.call(message.connection, "chat_update", channel=message.channel, ts=message.ts, text=text, blocks=blocks)
    ChatMessage.objects.filter(pk=message.pk).update(shows=shows, updated_at=timezone.now())


@handler(SLACK_UPDATE)
def deliver_update(payload):
    for message in ChatMessage.objects.select_related("connection").filter(request_id=payload["request_id"]):
        if message.connection.enabled:
            _update(message)


@handler(SLACK_RESPOND)
def deliver_ephemeral(payload):
    url = unseal(payload["url"], purpose=RESPONSE_URL)
    if not url.startswith(settings.SLACK_RESPONSE_URL_PREFIX):
        raise TicketError("The Slack response address is not one of Slack's.", permanent=True)
    body = {"response_type": "ephemeral", "replace_original": False, "text": payload["text"]}
    _post_json("Slack response_url", url, body)


@handler(SLACK_DIGEST)
def deliver_digest(payload):
    digest = ChatDigest.objects.select_related("connection", "user").filter(pk=payload["digest_id"]).first()
    if digest is None or digest.sent_at is not None:
        return
    account = SlackAccount.objects.filter(connection=digest.connection, user=digest.user).first()
    if account is None or not digest.connection.enabled:
        return  # unlinked or switched off since the digest was claimed
    text, blocks = payload["text"], payload["blocks"]
    slack.call(digest.connection, "chat_postMessage", channel=account.slack_user_id, text=text, blocks=blocks)
    ChatDigest.objects.filter(pk=digest.pk).update(sent_at=timezone.now())


# ---------------------------------------------------------------- Teams


def _post_json(what, url, body, expected=(200, 202, 204)):
    """POST JSON to an address that is itself a secret: errors never quote it."""
    try:
        response = requests.post(url, json=body, timeout=(5, 15))
    except requests.Timeout:
        raise TicketError(f"{what} timed out.", permanent=False)
    except requests.RequestException as exc:
        raise TicketError(f"{what}: cannot connect ({type(exc).__name__}).", permanent=False)
    if response.status_code not in expected:
        transient = response.status_code in (408, 429) or response.status_code >= 500
        raise TicketError(f"{what} answered {response.status_code}.", permanent=not transient)


@handler(TEAMS_POST)
def deliver_teams(payload):
    request = _request(payload["request_id"])
    route = route_of(request.workflow_id) if request else None
    if request is None or route is None or not route.teams_webhook_sealed:
        return
    content = request_content(request)
    facts = request_facts(content) + [("Why", content.justification)]
    if payload["event"] == "pending":
        if request.state != RequestState.PENDING:
            return
        title = f"Access request #{request.pk} waits for approval: {content.entitlement} for {content.subject}"
        note = "Approve or deny in Mandate: the button opens the request in the portal."
        link = "Review in Mandate"
    else:
        title = f"Access request #{request.pk} {request.get_state_display().lower()}: {content.entitlement}"
        lines = decision_lines(
            {"approver": str(a.approver), "decision": a.decision, "channel": a.channel, "comment": a.comment}
            for a in request.approvals.select_related("approver")
        )
        note = "\n".join(lines) or request.state_reason
        link = "Open in Mandate"
    card = teams_card(title=title, facts=facts, url=content.request_url, link_title=link, note=note)
    _post_json("The Teams workflow webhook", route.teams_webhook, card)
