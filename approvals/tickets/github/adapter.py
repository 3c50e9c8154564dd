"""GitHub Issues through the REST API.

The issue goes into the configured repository (`owner/name`) with its tag as a label
(`mandate-request-<id>-<key>`, or `mandate-review-…` for an access review,
`mandate-change-…` for a registry change). A person decides by applying a label
(`mandate:approved` or `mandate:denied` by default); the actor is whoever applied that
label according to the issue's own event list, never the webhook body. Webhooks are
verified with `X-Hub-Signature-256` and identified by `X-GitHub-Delivery`, which a
redelivery keeps.
"""

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

API_VERSION = "2022-11-28"


class GitHubIssuesAdapter(HttpTicketAdapter):
    kind = "github"
    label = "GitHub Issues"
    default_status_mapping = {APPROVE: ["mandate:approved"], DENY: ["mandate:denied"]}
    required_fields = ("project", "credential_ref")
    vendor = "GitHub"
    signature_header = "X-Hub-Signature-256"

    @property
    def api_root(self):
        return self.config.base_url or "https://api.github.com"

    def credentials(self):
        headers = {
            "Authorization": f"Bearer {self.secret()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }
        return headers, None

    @property
    def repo(self):
        owner, _, name = self.config.project.partition("/")
        if not owner or not name:
            raise TicketError(f"The repository “{self.config.project}” must be written owner/name.", permanent=True)
        return f"/repos/{owner}/{name}"

    # ------------------------------------------------------------------ contract
    def find_ticket(self, tag):
        issues = self.http.json(
            "GET",
            f"{self.repo}/issues",
            params={"labels": tag, "state": "all", "per_page": 5, "direction": "asc"},
        )
        for issue in issues or []:
            if "pull_request" not in issue:
                return TicketRef(key=str(issue["number"]), url=issue.get("html_url", ""), created=False)
        return None

    def create_ticket(self, content):
        payload = {
            "title": content.title,
            "body": content.as_markdown(),
            "labels": [self.tag_for(content)],
        }
        issue = self.http.json("POST", f"{self.repo}/issues", json=payload, expected=(201,))
        return TicketRef(key=str(issue["number"]), url=issue.get("html_url", ""), created=True)

    def fetch_ticket(self, key):
        issue = self.http.json("GET", f"{self.repo}/issues/{int(key)}")
        labels = {(label.get("name") if isinstance(label, dict) else label) for label in issue.get("labels") or []}
        decisive = [name for name in labels if self.decision_for(name) != "pending"]
        status, actor, changed_at = issue.get("state", "open"), None, ""
        if decisive:
            # The latest decisive label wins; its "labeled" event names who applied it.
            event = self._latest_label_event(key, set(decisive))
            if event:
                status = event["label"]["name"]
                login = event.get("actor") or {}
                actor = Actor(
                    username=login.get("login", ""),
                    external_id=str(login.get("id", "")),
                    is_bot=login.get("type") == "Bot",
                )
                changed_at = f"{event.get('id')}@{event.get('created_at', '')}"
            else:
                status = sorted(decisive)[0]
        return TicketState(
            key=str(key),
            status=status,
            decision=self.decision_for(status),
            actor=actor,
            url=issue.get("html_url", ""),
            closed=issue.get("state") == "closed",
            changed_at=changed_at,
        )

    def _latest_label_event(self, key, names):
        latest, page = None, 1
        while page <= 10:  # 1,000 events: far more than an access request's issue collects
            events = self.http.json(
                "GET", f"{self.repo}/issues/{int(key)}/events", params={"per_page": 100, "page": page}
            )
            for event in events or []:
                if event.get("event") == "labeled" and (event.get("label") or {}).get("name") in names:
                    latest = event
            if len(events or []) < 100:
                break
            page += 1
        return latest

    def add_comment(self, key, text):
        self.http.json("POST", f"{self.repo}/issues/{int(key)}/comments", json={"body": text}, expected=(201,))

    def close_ticket(self, key, *, outcome, comment=""):
        if comment:
            self.add_comment(key, comment)
        reason = "completed" if outcome == "approved" else "not_planned"
        self.http.json("PATCH", f"{self.repo}/issues/{int(key)}", json={"state": "closed", "state_reason": reason})

    def reopen_ticket(self, key, *, comment):
        self.add_comment(key, comment)
        self.http.json("PATCH", f"{self.repo}/issues/{int(key)}", json={"state": "open"})

    def parse_webhook(self, headers, body):
        data = webhook_object(body)
        event_type = header(headers, "X-GitHub-Event")
        issue = member(data, "issue")
        key = scalar(issue.get("number")) if event_type in {"issues", "issue_comment"} else ""
        repo = scalar(member(data, "repository").get("full_name"))
        if repo and repo.lower() != self.config.project.lower():
            key = ""  # an event of another repository sharing the hook: nothing of ours
        event_id = header(headers, "X-GitHub-Delivery") or body_digest(body)
        return WebhookEvent(event_id=event_id, ticket_key=key, event_type=f"{event_type}.{scalar(data.get('action'))}")

    def check_remote(self):
        repo = self.http.json("GET", self.repo)
        messages = [f"Repository {repo.get('full_name', self.config.project)} found."]
        if repo.get("has_issues") is False:
            return CheckResult(False, (*messages, "Issues are turned off for this repository."))
        permissions = repo.get("permissions") or {}
        if permissions and not (permissions.get("push") or permissions.get("triage") or permissions.get("admin")):
            return CheckResult(False, (*messages, "The token cannot label or close issues (needs triage or write)."))
        return CheckResult(True, tuple(messages))
