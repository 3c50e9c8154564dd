"""Slack's interactivity endpoint: `POST /hooks/slack/<installation id>/interactivity/`.

Slack signs the request, so no session and no CSRF token: the signature is the
authentication (see `interactivity`); a failed one counts against the sender's address
like a failed API key (`governance.api.throttling.failed_credentials_wait`). Slack wants
an answer within three seconds; the decision is a few statements and everything slow
(updating messages, private answers) goes through the outbox.
"""

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from approvals.chat.interactivity import Refused, handle
from approvals.chat.models import SlackConnection
from governance.api.exceptions import error_json, failed_signature_answer
from identities.choices import CredentialSurface

# Slack's interaction payloads are a few kilobytes; larger bodies are refused unread.
MAX_BODY_BYTES = 256 * 1024


@csrf_exempt
@require_POST
def slack_interactivity(request, connection_id):
    connection = SlackConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return error_json(404, "No such Slack installation.")
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
        return error_json(413, "Body too large.")
    try:
        answer = handle(
            connection,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
            body=request.body,
        )
    except Refused as exc:
        if exc.status == 401:
            return failed_signature_answer(request, CredentialSurface.SLACK, exc.message)
        return error_json(exc.status, exc.message)
    return JsonResponse(answer) if answer else HttpResponse(status=200)


app_name = "chat_hooks"
urlpatterns = [
    path("<int:connection_id>/interactivity/", slack_interactivity, name="slack_interactivity"),
]
