"""Jira: Cloud through REST v3 (Atlassian Document Format), Data Center through REST v2.

The issue goes into the configured project with its tag as a label
(`mandate-request-<id>-<key>`, or `mandate-review-…` for an access review,
`mandate-change-…` for a registry change). The decision is the issue's status name (by
default Approved / Done approve, Declined / Rejected / Won't Do deny); the actor is the
author of the latest status change in the issue's changelog. Webhooks registered by a
Jira admin with a secret are signed `X-Hub-Signature: sha256=<hex>` (HMAC of the body)
and carry `X-Atlassian-Webhook-Identifier`, unchanged across retries.
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
    member,
    scalar,
    webhook_object,
)
from ..errors import TicketError
from ..http import HttpTicketAdapter, header
from . import adf


class JiraCloudAdapter(HttpTicketAdapter):
    """The credential: Cloud, "email:api-token" (basic auth); Data Center, a personal access
    token (bearer)."""

    kind = "jira"
    label = "Jira Cloud"
    api = "/rest/api/3"
    default_status_mapping = {APPROVE: ["Approved", "Done"], DENY: ["Declined", "Rejected", "Won't Do"]}
    required_fields = ("base_url", "project", "credential_ref")
    signature_header = "X-Hub-Signature"

    def issue_url(self, key):
        return self.web_url(f"/browse/{key}")

    # ------------------------------------------------------------------ formats that differ by flavour
    def description(self, content):
        return adf.description(content)

    def comment_body(self, text):
        return adf.plain(text)

    def search(self, jql, fields):
        return self.http.json(
            "POST", f"{self.api}/search/jql", json={"jql": jql, "fields": fields, "maxResults": 5}
        ).get("issues", [])

    def actor(self, author):
        return Actor(
            username=author.get("name", "") or "",
            email=author.get("emailAddress", "") or "",
            display_name=author.get("displayName", "") or "",
            external_id=author.get("accountId") or author.get("key") or "",
        )

    # ------------------------------------------------------------------ contract
    def find_ticket(self, tag):
        label = tag
        jql = f'project = "{self.config.project}" AND labels = "{label}" ORDER BY created ASC'
        issues = self.search(jql, ["status"])
        if not issues:
            return None
        key = issues[0]["key"]
        return TicketRef(key=key, url=self.issue_url(key), created=False)

    def create_ticket(self, content):
        fields = {
            "project": {"key": self.config.project},
            "issuetype": {"name": self.config.ticket_type or "Task"},
            "summary": content.title,
            "description": self.description(content),
            "labels": [self.tag_for(content), "mandate"],
        }
        data = self.http.json("POST", f"{self.api}/issue", json={"fields": fields}, expected=(201,))
        return TicketRef(key=data["key"], url=self.issue_url(data["key"]), created=True)

    def fetch_ticket(self, key):
        issue = self.http.json(
            "GET", f"{self.api}/issue/{quote(key)}", params={"fields": "status,labels", "expand": "changelog"}
        )
        status_field = (issue.get("fields") or {}).get("status") or {}
        status = status_field.get("name", "")
        category = (status_field.get("statusCategory") or {}).get("key", "")
        actor, changed_at = None, ""
        histories = sorted(
            (issue.get("changelog") or {}).get("histories") or [], key=lambda h: h.get("created", ""), reverse=True
        )
        for history in histories:
            if any(i.get("field") == "status" and i.get("toString") == status for i in history.get("items", [])):
                actor = self.actor(history.get("author") or {})
                changed_at = f"{history.get('id', '')}@{history.get('created', '')}"
                break
        return TicketState(
            key=issue.get("key", key),
            status=status,
            decision=self.decision_for(status),
            actor=actor,
            url=self.issue_url(issue.get("key", key)),
            closed=category == "done",
            changed_at=changed_at,
        )

    def add_comment(self, key, text):
        self.http.json("POST", f"{self.api}/issue/{quote(key)}/comment", json={"body": self.comment_body(text)})

    def close_ticket(self, key, *, outcome, comment=""):
        if comment:
            self.add_comment(key, comment)
        wanted = {s.lower() for s in self.statuses_for(APPROVE if outcome == "approved" else DENY)}
        current = self.fetch_ticket(key)
        if current.status.lower() in wanted or current.closed:
            return
        transitions = self.http.json("GET", f"{self.api}/issue/{quote(key)}/transitions").get("transitions", [])
        for transition in transitions:
            if (transition.get("to") or {}).get("name", "").lower() in wanted:
                self.http.request(
                    "POST", f"{self.api}/issue/{quote(key)}/transitions", json={"transition": {"id": transition["id"]}}
                )
                return
        raise TicketError(
            f"{self.label}: no transition from “{current.status}” leads to one of {sorted(wanted)}.", permanent=True
        )

    def reopen_ticket(self, key, *, comment):
        """Comment, then take a transition to a status that decides nothing (To Do, Reopened…)."""
        self.add_comment(key, comment)
        deciding = {s.lower() for d in (APPROVE, DENY) for s in self.statuses_for(d)}
        if self.fetch_ticket(key).status.lower() not in deciding:
            return
        transitions = self.http.json("GET", f"{self.api}/issue/{quote(key)}/transitions").get("transitions", [])
        for transition in transitions:
            if (transition.get("to") or {}).get("name", "").lower() not in deciding:
                self.http.request(
                    "POST", f"{self.api}/issue/{quote(key)}/transitions", json={"transition": {"id": transition["id"]}}
                )
                return

    def parse_webhook(self, headers, body):
        data = webhook_object(body)
        event_id = header(headers, "X-Atlassian-Webhook-Identifier") or body_digest(body)
        issue = member(data, "issue")
        return WebhookEvent(
            event_id=event_id, ticket_key=scalar(issue.get("key")), event_type=scalar(data.get("webhookEvent"))
        )

    def check_remote(self):
        me = self.http.json("GET", f"{self.api}/myself")
        self.search(f'project = "{self.config.project}" ORDER BY created DESC', ["status"])
        who = me.get("displayName") or me.get("name") or me.get("accountId", "?")
        return CheckResult(True, (f"Signed in to {self.label} as {who}; project “{self.config.project}” searchable.",))


class JiraDataCenterAdapter(JiraCloudAdapter):
    """Jira Data Center / Server: REST v2, plain-text bodies, usernames in the changelog."""

    kind = "jira_dc"
    label = "Jira Data Center"
    api = "/rest/api/2"

    def description(self, content):
        return content.as_text()

    def comment_body(self, text):
        return text

    def search(self, jql, fields):
        return self.http.json("POST", f"{self.api}/search", json={"jql": jql, "fields": fields, "maxResults": 5}).get(
            "issues", []
        )
