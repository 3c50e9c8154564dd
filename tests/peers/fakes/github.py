"""GitHub Issues fake, validated against GitHub's REST description."""

import json
import re

from ..openapi import load
from .base import Fake


class GitHubFake(Fake):
    base_url = "https://api.github.test"
    description = load("github-issues.json")
    credential = "ghp_mandate_test_token"
    repo = "acme/access-requests"

    def __init__(self):
        super().__init__()
        self.issues = {}
        self.events = {}
        self.comment_log = {}
        self.template = self.description.example("post", "/repos/{owner}/{repo}/issues", "201")
        self.comment_template = self.description.example(
            "post", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "201"
        )

    def authorised(self, headers):
        return headers.get("Authorization") == f"Bearer {self.credential}"

    def user(self, person):
        user = dict(self.template["user"])
        user.update(login=person["login"], id=person["id"], type=person.get("type", "User"))
        return user

    def act(self, number, label, person):
        """A person applies a label in GitHub's UI."""
        issue = self.issues[int(number)]
        if label not in [lbl["name"] for lbl in issue["labels"]]:
            issue["labels"].append(self._label(label))
        self.events[int(number)].append(
            {
                "id": next(self.ids),
                "node_id": "LE_x",
                "url": f"{self.base_url}/repos/{self.repo}/issues/events/1",
                "actor": self.user(person),
                "event": "labeled",
                "commit_id": None,
                "commit_url": None,
                "created_at": f"2026-01-01T10:{len(self.events[int(number)]):02d}:00Z",
                "performed_via_github_app": None,
                "label": {"name": label, "color": "0e8a16"},
            }
        )

    def _label(self, name):
        return {
            "id": 1,
            "node_id": "LA_x",
            "url": "",
            "name": name,
            "description": None,
            "color": "ededed",
            "default": False,
        }

    def handle(self, method, path, query, body):
        prefix = f"/repos/{self.repo}"
        if method == "GET" and path == prefix:
            repo = self.description.example("get", "/repos/{owner}/{repo}")
            repo.update(full_name=self.repo, has_issues=True)
            # Required by the schema, missing from the vendor's own example; the example's fork
            # parents (optional) have the same gap, and a fresh repository has none.
            repo.setdefault("language", None)
            for optional in ("parent", "source", "template_repository"):
                repo.pop(optional, None)
            repo["permissions"] = {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True}
            return 200, repo
        if not path.startswith(prefix + "/issues"):
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        rest = path[len(prefix) + len("/issues") :]
        if rest == "" and method == "GET":
            wanted = set(filter(None, query.get("labels", "").split(",")))
            found = [
                i
                for i in self.issues.values()
                if wanted <= {lbl["name"] for lbl in i["labels"]} and query.get("state", "open") in ("all", i["state"])
            ]
            return 200, found[: int(query.get("per_page", 30))]
        if rest == "" and method == "POST":
            number = len(self.issues) + 1
            issue = json.loads(json.dumps(self.template))
            issue.update(
                number=number,
                id=1000 + number,
                title=body["title"],
                body=body.get("body"),
                labels=[self._label(name) for name in body.get("labels", [])],
                state="open",
                closed_at=None,
                html_url=f"https://github.test/{self.repo}/issues/{number}",
                comments=0,
            )
            issue.pop("pull_request", None)
            # The description declares state_reason as an enum without null; GitHub omits
            # nothing but the schema would refuse null, so an open issue goes without it.
            issue.pop("state_reason", None)
            self.issues[number], self.events[number], self.comment_log[number] = issue, [], []
            return 201, issue
        match = re.match(r"^/(\d+)(/events|/comments)?$", rest)
        if not match or int(match.group(1)) not in self.issues:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        number, sub = int(match.group(1)), match.group(2)
        issue = self.issues[number]
        if sub is None and method == "GET":
            return 200, issue
        if sub is None and method == "PATCH":
            issue.update({k: v for k, v in body.items() if k in ("state", "state_reason", "title", "body")})
            if issue["state"] == "closed":
                issue["closed_at"] = "2026-01-01T12:00:00Z"
            return 200, issue
        if sub == "/events" and method == "GET":
            page, per_page = int(query.get("page", 1)), int(query.get("per_page", 30))
            return 200, self.events[number][(page - 1) * per_page : page * per_page]
        if sub == "/comments" and method == "POST":
            self.comment_log[number].append(body["body"])
            issue["comments"] += 1
            comment = dict(self.comment_template)
            comment.update(id=next(self.ids), body=body["body"])
            return 201, comment
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

    def tickets(self):
        return list(self.issues)

    def comments(self, key):
        return list(self.comment_log[int(key)])

    def status(self, key):
        return self.issues[int(key)]["state"]

    def text(self, key):
        issue = self.issues[int(key)]
        return issue["title"] + "\n" + (issue["body"] or "")
