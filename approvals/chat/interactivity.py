"""Slack interactivity: a person presses Approve or Deny on a request's message, or sends
the deny modal. Slack posts the interaction to `/chat/slack/<installation>/interactivity`.

Order of checks: the `v0` signature and its age (`slack.verify_signature`), then that the
same signed request was not seen before (a replay inside the five minutes), then the
workspace. Then the Slack user is mapped to a Mandate person: a linked `SlackAccount`, else
the e-mail address Slack's `users.info` returns, used only when Slack says it is confirmed
and exactly one active person has it. Unknown people get a private (ephemeral) refusal.
The decision itself goes through `approvals.services.decide` with the channel `chat`: the
separation of duties, eligibility and two-person rules are re-checked there, under lock,
exactly as for the portal, a ticket or the API.
"""

import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.chat import slack
from approvals.chat.delivery import SLACK_RESPOND, queue_ephemeral
from approvals.chat.messages import APPROVE, DENY, DENY_MODAL, REASON_BLOCK, REASON_INPUT, deny_modal
from approvals.chat.models import SlackAccount, SlackActionReceipt
from approvals.choices import Channel, Decision, RequestState
from approvals.models import AccessRequest
from approvals.queues.request_tickets import request_url
from approvals.services import check_can_decide, decide
from approvals.tickets import TicketError
from governance.exceptions import MandateError, NotAllowed
from identities.models import User

log = logging.getLogger("approvals.chat")

RECEIPT_KEEP = timedelta(seconds=2 * slack.SIGNATURE_MAX_AGE_SECONDS)


class Refused(Exception):
    """The interaction is not acted on; `status` and `message` are the HTTP answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def handle(connection, *, timestamp, signature, body, now=None):
    """Act on one interaction. Returns the JSON body to answer Slack with (None: empty 200).
    Raises Refused for what must not be acted on."""
    if not connection.enabled:
        raise Refused(404, "This Slack installation is disabled.")
    try:
        slack.verify_signature(connection.signing_secret, timestamp=timestamp, signature=signature, body=body, now=now)
    except slack.SignatureRefused as exc:
        raise Refused(401, exc.message)
    _remember(signature)
    try:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
    except (KeyError, IndexError, ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(400, "The body has no JSON `payload`.")
    if not isinstance(payload, dict):
        raise Refused(400, "The `payload` is not a JSON object.")
    team = payload.get("team")
    if not isinstance(team, dict) or team.get("id") != connection.team_id:
        raise Refused(403, "The interaction comes from another workspace.")
    kind, view = payload.get("type"), payload.get("view")
    try:
        if kind == "block_actions":
            return _on_action(connection, payload)
        if kind == "view_submission" and isinstance(view, dict) and view.get("callback_id") == DENY_MODAL:
            return _on_deny_reason(connection, payload)
    except (AttributeError, TypeError, KeyError):
        # Signed, yet not in the shape Slack documents: refuse it rather than fail.
        log.warning("Slack interaction of an unexpected shape refused", exc_info=True)
        raise Refused(400, "The interaction is not in the shape Slack sends.")
    return None  # not ours to act on (e.g. the modal closed): acknowledge


def _remember(signature):
    """Refuse a signed request seen before: the signature covers timestamp and body, so an
    identical one inside the five minutes is the same request sent again."""
    now = timezone.now()
    try:
        with transaction.atomic():
            SlackActionReceipt.objects.create(signature=signature, received_at=now)
    except IntegrityError:
        raise Refused(401, "This request was already received (replay refused).")
    SlackActionReceipt.objects.filter(received_at__lt=now - RECEIPT_KEEP).delete()


def person_for(connection, slack_user_id):
    """The active Mandate person behind a Slack user of this workspace, or None.

    Raises TicketError when Slack cannot be asked (the caller says "try again")."""
    if not slack_user_id:
        return None
    account = SlackAccount.objects.select_related("user").filter(connection=connection, slack_user_id=slack_user_id)
    account = account.first()
    if account is not None:
        return account.user if account.user.is_active else None
    try:
        user = slack.call(connection, "users_info", user=slack_user_id).get("user") or {}
    except TicketError as exc:
        if exc.permanent:  # user_not_found, or a missing scope (recorded on the installation)
            return None
        raise
    email = ((user.get("profile") or {}).get("email") or "").strip()
    trusted = (
        email
        and user.get("is_email_confirmed") is True
        and not user.get("deleted")
        and not user.get("is_bot")
        and user.get("team_id", connection.team_id) == connection.team_id
    )
    if not trusted:
        return None
    people = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
    if len(people) != 1:
        return None  # nobody, or an address two people share: never guess
    person = people[0]
    if SlackAccount.objects.filter(connection=connection, user=person).exclude(slack_user_id=slack_user_id).exists():
        return None  # this person is linked to another Slack user already
    try:
        with transaction.atomic():
            SlackAccount.objects.get_or_create(
                connection=connection,
                slack_user_id=slack_user_id,
                defaults={"user": person, "linked_by": SlackAccount.LinkedBy.EMAIL},
            )
    except IntegrityError:
        return None  # linked concurrently to someone else
    return person


def _refuse(payload, text):
    url = payload.get("response_url", "")
    if url:
        stamp = (payload.get("actions") or [{}])[0].get("action_ts", "") or payload.get("trigger_id", "")
        queue_ephemeral(url, text, key=f"{SLACK_RESPOND}:{payload['user']['id']}:{stamp}")
    return None


def _who(connection, payload):
    """(person or None, refusal text or "")."""
    try:
        person = person_for(connection, (payload.get("user") or {}).get("id", ""))
    except TicketError:
        return None, "Mandate could not ask Slack who you are just now; try again in a minute."
    if person is None:
        return None, (
            "Mandate does not know who you are in Slack, so it cannot take your decision. "
            "Ask an administrator to link your Slack user, or decide in the portal: " + settings.SITE_URL
        )
    return person, ""


def _pending_request(request_id):
    request = AccessRequest.objects.select_related("workflow", "entitlement").filter(pk=request_id).first()
    if request is None:
        raise NotAllowed("That request no longer exists.")
    if request.state != RequestState.PENDING:
        raise NotAllowed(f"Request #{request.pk} is {request.get_state_display().lower()} already.")
    return request


def _on_action(connection, payload):
    action = (payload.get("actions") or [{}])[0]
    if action.get("action_id") not in (APPROVE, DENY):
        return None
    person, refusal = _who(connection, payload)
    if person is None:
        return _refuse(payload, refusal)
    try:
        request = _pending_request(int(action.get("value") or 0))
        if action["action_id"] == APPROVE:
            decide(request, approver=person, decision=Decision.APPROVE, channel=Channel.CHAT)
            return None
        check_can_decide(request, person)  # before asking for a reason nobody may give
    except (MandateError, ValueError) as exc:
        return _refuse(payload, getattr(exc, "message", "That is not a request Mandate knows."))
    title = f"Deny request #{request.pk}: {request.entitlement.scope} for {request.subject_label}?"
    meta = json.dumps({"request_id": request.pk})
    try:
        # views.open needs the trigger within three seconds of the click: it cannot wait for the outbox.
        slack.call(connection, "views_open", trigger_id=payload.get("trigger_id", ""), view=deny_modal(
            request_id=request.pk, title=title, metadata=meta))  # fmt: skip
    except TicketError:
        return _refuse(payload, f"Slack did not open the form; deny in the portal instead: {request_url(request)}")
    return None


def _on_deny_reason(connection, payload):
    view = payload["view"]
    try:
        request_id = int(json.loads(view.get("private_metadata") or "{}")["request_id"])
        reason = (view["state"]["values"][REASON_BLOCK][REASON_INPUT].get("value") or "").strip()
    except (KeyError, TypeError, ValueError):
        raise Refused(400, "The form is not Mandate's.")
    if len(reason) < 3:
        return _errors("Say why, in a few words: the requester sees it.")
    person, refusal = _who(connection, payload)
    if person is None:
        return _errors(refusal)
    try:
        decide(_pending_request(request_id), approver=person, decision=Decision.DENY, channel=Channel.CHAT,
               comment=reason)  # fmt: skip
    except MandateError as exc:
        return _errors(exc.message)
    return None  # an empty answer closes the modal


def _errors(text):
    # Slack shows these under the input and keeps the modal open.
    return {"response_action": "errors", "errors": {REASON_BLOCK: text[:2000]}}
