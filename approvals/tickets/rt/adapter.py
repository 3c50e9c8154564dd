"""Request Tracker 5 through its REST 2.0 JSON API.

The ticket goes into the configured queue with its tag (`mandate-request-<id>-<key>`, or
`mandate-review-…` for an access review, `mandate-change-…` for a registry change) in a
ticket custom field (`MandateRequestId` unless `options.request_field` says otherwise).
By default `resolved` approves and `rejected` denies; the actor is the creator of the
latest Status transaction in the ticket's history. RT has no native webhooks: a scrip
may post a signed hint (see docs/ticket-queues.md), otherwise the polling job reads open
tickets.

RT answers many errors with 200 and a list of messages (an invalid status, an unknown
custom field), so every write is read back before it is believed.
"""

from urllib.parse import quote

from ..base import (
    APPROVE,
    DENY,
    Actor,
    CheckResult,
    TicketRef,
    TicketState,
    WebhookEvent,
    body_digest,
    scalar,
    webhook_object,
)
from ..errors import TicketError
from ..http import HttpTicketAdapter, basic_or_bearer


class RequestTrackerAdapter(HttpTicketAdapter):
    kind = "rt"
    label = "Request Tracker 5"
    default_status_mapping = {APPROVE: ["resolved"], DENY: ["rejected"]}
    required_fields = ("base_url", "project", "credential_ref")
    inactive_statuses = {"resolved", "rejected", "deleted"}
    vendor = "Request Tracker"
    signature_header = "X-Mandate-Signature"

    # ------------------------------------------------------------------ plumbing
    @property
    def api_root(self):
        return self.web_url("/REST/2.0")

    def credentials(self):
        # An RT auth token goes as "Authorization: token …".
        return basic_or_bearer(self.secret(), bearer_word="token")

    @property
    def request_field(self):
        return (self.config.options or {}).get("request_field", "MandateRequestId")

    def ticket_url(self, key):
        return self.web_url(f"/Ticket/Display.html?id={key}")

    # ------------------------------------------------------------------ contract
    def find_ticket(self, tag):
        query = f"Queue = '{self.config.project}' AND CF.{{{self.request_field}}} = '{tag}'"
        data = self.http.json(
            "GET", "/tickets", params={"query": query, "fields": "Status", "orderby": "id", "order": "ASC"}
        )
        items = data.get("items") or []
        if not items:
            return None
        key = str(items[0]["id"])
        return TicketRef(key=key, url=self.ticket_url(key), created=False)

    def create_ticket(self, content):
        payload = {
            "Queue": self.config.project,
            "Subject": content.title,
            "Content": content.as_text(),
            "ContentType": "text/plain",
            "CustomFields": {self.request_field: self.tag_for(content)},
        }
        if self.config.ticket_type:
            payload["Type"] = self.config.ticket_type
        if content.requester_email:
            payload["Requestor"] = content.requester_email
        data = self.http.json("POST", "/ticket", json=payload, expected=(201,))
        if "id" not in data:
            raise TicketError(f"Request Tracker did not create the ticket: {data}", permanent=True)
        key = str(data["id"])
        return TicketRef(key=key, url=self.ticket_url(key), created=True)

    def fetch_ticket(self, key):
        ticket = self.http.json("GET", f"/ticket/{quote(str(key))}")
        status = ticket.get("Status", "")
        actor, changed_at = self._status_setter(key, status)
        return TicketState(
            key=str(key),
            status=status,
            decision=self.decision_for(status),
            actor=actor,
            url=self.ticket_url(key),
            closed=status in self.inactive_statuses,
            changed_at=changed_at,
        )

    def _status_setter(self, key, status):
        """Who moved the ticket into `status`: the latest matching transaction's creator."""
        history = self.http.json(
            "GET",
            f"/ticket/{quote(str(key))}/history",
            params={
                "fields": "Type,Field,NewValue,Creator,Created",
                "fields[Creator]": "Name,EmailAddress,RealName",
                "orderby": "id",
                "order": "DESC",
                "per_page": 100,
            },
        )
        for item in history.get("items") or []:
            is_status = item.get("Type") == "Status" or item.get("Field") == "Status"
            if (is_status and item.get("NewValue") == status) or item.get("Type") == "Create":
                creator = item.get("Creator") or {}
                actor = Actor(
                    username=creator.get("Name") or creator.get("id", ""),
                    email=creator.get("EmailAddress") or "",
                    display_name=creator.get("RealName") or "",
                    external_id=creator.get("id", ""),
                )
                return actor, f"txn-{item.get('id')}"
        return None, ""

    def add_comment(self, key, text):
        self.http.json(
            "POST",
            f"/ticket/{quote(str(key))}/comment",
            json={"Content": text, "ContentType": "text/plain"},
            expected=(200, 201),
        )

    def close_ticket(self, key, *, outcome, comment=""):
        if comment:
            self.add_comment(key, comment)
        wanted = self.statuses_for(APPROVE if outcome == "approved" else DENY)[0]
        current = self.http.json("GET", f"/ticket/{quote(str(key))}").get("Status", "")
        if current in self.inactive_statuses:
            return
        messages = self.http.json("PUT", f"/ticket/{quote(str(key))}", json={"Status": wanted})
        if self.http.json("GET", f"/ticket/{quote(str(key))}").get("Status") != wanted:
            raise TicketError(f"Request Tracker refused status “{wanted}”: {messages}", permanent=True)

    def reopen_ticket(self, key, *, comment):
        self.add_comment(key, comment)
        if self.http.json("GET", f"/ticket/{quote(str(key))}").get("Status", "") != "open":
            self.http.json("PUT", f"/ticket/{quote(str(key))}", json={"Status": "open"})

    def parse_webhook(self, headers, body):
        # Sent by an RT scrip (see docs/ticket-queues.md): {"ticket": 12, "transaction": 345}.
        data = webhook_object(body)
        ticket = scalar(data.get("ticket"))
        txn = scalar(data.get("transaction"))
        event_id = f"rt-txn-{txn}" if txn else body_digest(body)
        return WebhookEvent(event_id=event_id, ticket_key=ticket, event_type=scalar(data.get("type")) or "transaction")

    def check_remote(self):
        http = self.http
        version = http.json("GET", "/rt").get("Version", "?")
        queue = http.json("GET", f"/queue/{quote(self.config.project)}", expected=(200, 404))
        if not queue or "id" not in queue:
            return CheckResult(False, (f"RT {version}: the queue “{self.config.project}” does not exist.",))
        fields = [cf.get("name") for cf in queue.get("TicketCustomFields") or []]
        messages = [f"Connected to Request Tracker {version}; queue “{self.config.project}” found."]
        if fields and self.request_field not in fields:
            return CheckResult(
                False, (*messages, f"The custom field “{self.request_field}” is not applied to the queue.")
            )
        return CheckResult(True, tuple(messages))
