"""A fake of a Microsoft Teams Workflows webhook ("Post to a channel when a webhook request
is received"), served over real HTTP. Like the real trigger, it accepts only a POST to the
workflow's own address (its `sig` query parameter is the credential) with a body
`{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <Adaptive Card>}]}` and answers
202 Accepted; everything else is refused and recorded in `rejected`
(https://learn.microsoft.com/power-automate/teams/create-flows-with-teams-webhook,
https://adaptivecards.io/explorer/).
"""

import json

from .local_server import LocalServer

CARD = "application/vnd.microsoft.card.adaptive"
ELEMENTS = {"TextBlock", "FactSet", "ColumnSet", "Container", "Image"}


class TeamsFake:
    sig = "fake-workflow-signature"

    def __init__(self):
        self.server = LocalServer(self.app)
        self.cards = []
        self.rejected = []
        self.down = False

    @property
    def webhook_url(self):
        return (
            f"{self.server.url}/workflows/0a1b2c3d/triggers/manual/paths/invoke"
            f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.sig}"
        )

    def close(self):
        self.server.close()

    def _refuse(self, status, why):
        self.rejected.append(why)
        return status, {"Content-Type": "application/json"}, json.dumps({"error": {"message": why}}).encode()

    def app(self, method, path, query, headers, body):
        if self.down:
            return 503, {}, b""
        if method != "POST" or not path.startswith("/workflows/") or query.get("sig") != self.sig:
            return self._refuse(401, "unauthorised")
        try:
            message = json.loads(body)
        except ValueError:
            return self._refuse(400, "not JSON")
        attachments = message.get("attachments") or []
        if message.get("type") != "message" or not attachments:
            return self._refuse(400, "not a message with attachments")
        for attachment in attachments:
            card = attachment.get("content") or {}
            if attachment.get("contentType") != CARD or card.get("type") != "AdaptiveCard" or not card.get("version"):
                return self._refuse(400, "not an Adaptive Card")
            if not card.get("body") or any(e.get("type") not in ELEMENTS for e in card["body"]):
                return self._refuse(400, "unknown card element")
            for action in card.get("actions") or []:
                if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith("http"):
                    return self._refuse(400, "bad action")
            self.cards.append(card)
        return 202, {}, b""
