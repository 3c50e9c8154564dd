"""ServiceNow through the Table API (`/api/now/table/{table}`).

A record is created in the configured table (`incident` unless `project` names another
task table) with its tag in `correlation_id` (`mandate-request-<id>-<key>`, or
`mandate-review-…` for an access review, `mandate-change-…` for a registry change). The
decision is read from the configured field (`approval` by default: `approved` approves,
`rejected` denies); the actor is the user who last set that field according to
`sys_audit`, looked up in `sys_user` for an e-mail address. ServiceNow has no signed
outbound webhooks of its own: a business rule posts `{"sys_id": …}` signed
`X-Mandate-Signature: sha256=<hex>` (see docs/ticket-queues.md). Reference: the Table
API documentation,
https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html
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
from ..http import HttpTicketAdapter


class ServiceNowAdapter(HttpTicketAdapter):
    kind = "servicenow"
    label = "ServiceNow"
    default_status_mapping = {
        "field": "approval",
        APPROVE: ["approved"],
        DENY: ["rejected"],
        # Fields written when Mandate closes the record (incident: 7 = Closed).
        "close": {"state": "7", "close_code": "Solved (Permanently)"},
    }
    required_fields = ("base_url", "credential_ref")
    signature_header = "X-Mandate-Signature"

    @property
    def table(self):
        return self.config.project or "incident"

    @property
    def decision_field(self):
        return self.mapping.get("field") or "approval"

    def record_url(self, sys_id):
        return self.web_url(f"/nav_to.do?uri={self.table}.do?sys_id={sys_id}")

    def _table(self, table=None):
        return f"/api/now/table/{quote(table or self.table)}"

    # ------------------------------------------------------------------ contract
    def find_ticket(self, tag):
        result = self.http.json(
            "GET",
            self._table(),
            params={
                "sysparm_query": f"correlation_id={tag}^ORDERBYsys_created_on",
                "sysparm_fields": "sys_id,number",
                "sysparm_limit": 1,
            },
        ).get("result", [])
        if not result:
            return None
        sys_id = result[0]["sys_id"]
        return TicketRef(key=sys_id, url=self.record_url(sys_id), created=False)

    def create_ticket(self, content):
        record = {
            "short_description": content.title[:160],
            "description": content.as_text(),
            "correlation_id": self.tag_for(content),
            "correlation_display": "Mandate",
        }
        if content.asks_decision:
            record[self.decision_field] = "requested"
        if self.config.ticket_type:
            record["category"] = self.config.ticket_type
        result = self.http.json("POST", self._table(), json=record, expected=(201,)).get("result") or {}
        if "sys_id" not in result:
            raise TicketError("ServiceNow did not return the new record's sys_id.", permanent=True)
        return TicketRef(key=result["sys_id"], url=self.record_url(result["sys_id"]), created=True)

    def fetch_ticket(self, key):
        fields = f"sys_id,number,state,active,{self.decision_field},sys_updated_on"
        record = (
            self.http.json(
                "GET",
                f"{self._table()}/{quote(key)}",
                params={"sysparm_fields": fields, "sysparm_display_value": "false"},
            ).get("result")
            or {}
        )
        status = str(record.get(self.decision_field, ""))
        actor, changed_at = self._who_set(key, status)
        return TicketState(
            key=key,
            status=status,
            decision=self.decision_for(status),
            actor=actor,
            url=self.record_url(key),
            closed=str(record.get("active", "true")).lower() == "false",
            changed_at=changed_at,
        )

    def _who_set(self, key, value):
        audit = self.http.json(
            "GET",
            self._table("sys_audit"),
            params={
                "sysparm_query": (
                    f"tablename={self.table}^documentkey={key}^fieldname={self.decision_field}"
                    f"^newvalue={value}^ORDERBYDESCsys_created_on"
                ),
                "sysparm_fields": "sys_id,user,newvalue,sys_created_on",
                "sysparm_limit": 1,
            },
        ).get("result", [])
        if not audit:
            return None, ""
        username = audit[0].get("user", "")
        people = self.http.json(
            "GET",
            self._table("sys_user"),
            params={"sysparm_query": f"user_name={username}", "sysparm_fields": "sys_id,user_name,email,name"},
        ).get("result", [])
        person = people[0] if people else {}
        actor = Actor(
            username=username,
            email=person.get("email", ""),
            display_name=person.get("name", ""),
            external_id=person.get("sys_id", ""),
        )
        return actor, f"{audit[0].get('sys_id', '')}@{audit[0].get('sys_created_on', '')}"

    def add_comment(self, key, text):
        # Work notes are internal (visible to fulfillers); "comments" would e-mail the caller.
        self.http.json("PATCH", f"{self._table()}/{quote(key)}", json={"work_notes": text})

    def close_ticket(self, key, *, outcome, comment=""):
        decision = self.statuses_for(APPROVE if outcome == "approved" else DENY)[0]
        record = self.http.json("GET", f"{self._table()}/{quote(key)}", params={"sysparm_fields": "active"})
        if str((record.get("result") or {}).get("active", "true")).lower() == "false":
            if comment:
                self.add_comment(key, comment)
            return
        update = {**(self.mapping.get("close") or {}), "close_notes": comment or f"Mandate: {outcome}."}
        update.setdefault(self.decision_field, decision)
        if comment:
            update["work_notes"] = comment
        self.http.json("PATCH", f"{self._table()}/{quote(key)}", json=update)

    def reopen_ticket(self, key, *, comment):
        # The record stays open while its approval is "requested": set it back, with the note.
        self.http.json(
            "PATCH", f"{self._table()}/{quote(key)}", json={self.decision_field: "requested", "work_notes": comment}
        )

    def parse_webhook(self, headers, body):
        data = webhook_object(body)
        event_id = scalar(data.get("event_id")) or body_digest(body)
        return WebhookEvent(event_id=event_id, ticket_key=scalar(data.get("sys_id")), event_type="record.updated")

    def check_remote(self):
        self.http.json("GET", self._table(), params={"sysparm_limit": 1, "sysparm_fields": "sys_id"})
        return CheckResult(True, (f"Table “{self.table}” readable with the configured credential.",))
