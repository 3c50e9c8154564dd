"""Jira fake (Cloud REST v3 validated against the vendor's description; Data Center v2)."""

import json
import re

from ..openapi import load
from .base import Fake, _basic

JIRA_STATUSES = {
    "To Do": ("1", "new"),
    "Approved": ("10001", "done"),
    "Declined": ("10002", "done"),
    "Done": ("10003", "done"),
}


class JiraFake(Fake):
    """Jira Cloud (REST v3, validated) and Data Center (REST v2, same shapes, plain text)."""

    base_url = "https://acme.atlassian.test"
    description = load("jira-platform-v3.json")
    credential = "mandate@example.test:jira-api-token"

    def __init__(self):
        super().__init__()
        self.issues = {}

    def validates(self, path):
        return path.startswith("/rest/api/3/")

    def server_error(self):
        return {"errorMessages": ["Internal server error"], "errors": {}}

    def unauthorised(self):
        return {"errorMessages": ["You are not authenticated."], "errors": {}}

    def authorised(self, headers):
        return _basic(headers) == self.credential or headers.get("Authorization") == f"Bearer {self.credential}"

    def user(self, person):
        return {
            "accountId": person["accountId"],
            "emailAddress": person["email"],
            "displayName": person["name"],
            "name": person["username"],
            "active": True,
            "accountType": "atlassian",
        }

    def act(self, key, status, person):
        """A person moves the issue to `status` in Jira's UI."""
        issue = self.issues[key]
        old = issue["status"]
        issue["status"] = status
        issue["histories"].append(
            {
                "id": str(next(self.ids)),
                "author": self.user(person),
                "created": f"2026-01-01T10:{len(issue['histories']):02d}:00.000+00:00",
                "items": [{"field": "status", "fieldtype": "jira", "fromString": old, "toString": status}],
            }
        )

    def _status(self, name):
        status_id, category = JIRA_STATUSES[name]
        return {"id": status_id, "name": name, "statusCategory": {"key": category}}

    def _brief(self, issue):
        return {"id": issue["id"], "key": issue["key"], "self": f"{self.base_url}/rest/api/3/issue/{issue['id']}"}

    def handle(self, method, path, query, body):
        match = re.match(r"^/rest/api/([23])(/.*)$", path)
        if not match:
            return 404, {"errorMessages": ["Not found"], "errors": {}}
        route = match.group(2)
        if method == "GET" and route == "/myself":
            return 200, {"accountId": "svc-mandate", "displayName": "Mandate service", "active": True}
        if method == "POST" and route in ("/search/jql", "/search"):
            label = re.search(r'labels = "([^"]+)"', body["jql"])
            project = re.search(r'project = "([^"]+)"', body["jql"]).group(1)
            found = [
                {**self._brief(i), "fields": {"status": self._status(i["status"])}}
                for i in self.issues.values()
                if i["project"] == project and (label is None or label.group(1) in i["labels"])
            ]
            return 200, {"issues": found[: body.get("maxResults", 50)], "isLast": True}
        if method == "POST" and route == "/issue":
            fields = body["fields"]
            number = len(self.issues) + 1
            key = f"{fields['project']['key']}-{number}"
            self.issues[key] = {
                "id": str(10000 + number),
                "key": key,
                "project": fields["project"]["key"],
                "type": fields["issuetype"]["name"],
                "summary": fields["summary"],
                "description": fields["description"],
                "labels": list(fields.get("labels", [])),
                "status": "To Do",
                "histories": [],
                "comments": [],
                "api": match.group(1),
            }
            return 201, self._brief(self.issues[key])
        issue_match = re.match(r"^/issue/([^/]+)(/comment|/transitions)?$", route)
        if not issue_match or issue_match.group(1) not in self.issues:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
        issue, sub = self.issues[issue_match.group(1)], issue_match.group(2)
        if method == "GET" and sub is None:
            histories = issue["histories"]
            return 200, {
                **self._brief(issue),
                "fields": {"status": self._status(issue["status"]), "labels": issue["labels"]},
                "changelog": {"startAt": 0, "maxResults": 100, "total": len(histories), "histories": histories},
            }
        if sub == "/comment" and method == "POST":
            issue["comments"].append(body["body"])
            return 201, {"id": str(next(self.ids)), "body": body["body"], "created": "2026-01-01T11:00:00.000+00:00"}
        if sub == "/transitions" and method == "GET":
            return 200, {
                "transitions": [
                    {"id": f"t{status_id}", "name": f"Move to {name}", "to": {"name": name, "id": status_id}}
                    for name, (status_id, _) in JIRA_STATUSES.items()
                    if name != issue["status"]
                ]
            }
        if sub == "/transitions" and method == "POST":
            wanted = body["transition"]["id"][1:]
            name = next(n for n, (sid, _) in JIRA_STATUSES.items() if sid == wanted)
            self.act(issue["key"], name, {"accountId": "svc-mandate", "email": "", "name": "Mandate", "username": ""})
            return 204, None
        return 405, {"errorMessages": ["Method not allowed"]}

    # ------------------------------------------------------------------ for assertions
    def tickets(self):
        return list(self.issues)

    def comments(self, key):
        issue = self.issues[key]
        if issue["api"] == "2":
            return list(issue["comments"])
        texts = []
        for doc in issue["comments"]:
            texts.append(" ".join(n.get("text", "") for p in doc["content"] for n in p.get("content", [])))
        return texts

    def status(self, key):
        return self.issues[key]["status"]

    def text(self, key):
        issue = self.issues[key]
        return issue["summary"] + "\n" + json.dumps(issue["description"], ensure_ascii=False)
