"""Webhook endpoint of the ticket queues: `POST /hooks/tickets/<connection id>/`.

Signed by the ticket system, so no session and no CSRF token: the signature is the
authentication. A delivery whose signature fails gets 401 and changes nothing, and counts
against the sender's address like a failed API key (429 or 403 once it has failed too
often; `governance.api.throttling.failed_credentials_wait`). A valid
one is only a hint to re-read the ticket through the API (see `decisions.sync_ticket`).
"""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from approvals.models import QueueConnection
from approvals.queues.decisions import handle_webhook
from governance.api.exceptions import error_json, failed_signature_answer
from identities.choices import CredentialSurface

# Larger bodies are refused before any work: ticket events are a few kilobytes.
MAX_BODY_BYTES = 1024 * 1024


def answer(status, outcome):
    """`{"detail": outcome}` when taken; a refusal in the API's error shape."""
    return JsonResponse({"detail": outcome}, status=status) if status < 400 else error_json(status, outcome)


@csrf_exempt
@require_POST
def ticket_webhook(request, connection_id):
    connection = QueueConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return answer(404, "No such queue.")
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY_BYTES:
        return answer(413, "Body too large.")
    status, outcome = handle_webhook(connection, dict(request.headers), request.body)
    if status == 401:
        return failed_signature_answer(request, CredentialSurface.TICKETS, outcome)
    return answer(status, outcome)


app_name = "ticket_hooks"
urlpatterns = [
    path("<int:connection_id>/", ticket_webhook, name="ticket_webhook"),
]
