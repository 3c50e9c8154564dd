"""Stateful fakes of the SaaS ticket systems that cannot run here: Jira, GitHub, ServiceNow.

They sit behind `responses` (so the adapters' real `requests` code runs), keep issues in
memory, and let a test act as a person in the system (`act`). Jira and GitHub traffic —
requests and the fakes' own answers — is validated against the vendors' OpenAPI
descriptions (see `openapi.py`); ServiceNow, which publishes none, follows its Table API
documentation (https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html):
`{"result": …}` envelopes, `sysparm_*` query parameters, encoded queries joined with `^`,
`{"error": {"message", "detail"}, "status": "failure"}` on errors.

`faults` injects failures into the next matching calls: "500" (answer 500 without doing
anything), "timeout" (no answer, nothing done) and "lost" (do the work, then lose the
answer — the case that doubles tickets in naive clients).
"""

import base64
import itertools
import json
import re
from urllib.parse import parse_qs, urlsplit

import requests

from .openapi import load


class Fake:
    base_url = ""
    description = None  # OpenApiDescription, when the vendor publishes one

    def __init__(self):
        self.faults = []  # [(method or "*", path pattern or None, "500" | "timeout" | "lost")]
        self.calls = []
        self.ids = itertools.count(1)

    def install(self, mock):
        pattern = re.compile(re.escape(self.base_url) + r"(/.*)?$")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(method, pattern, callback=self._dispatch)

    def inject(self, *faults, method="*", path=None):
        self.faults.extend((method, path, fault) for fault in faults)

    def _take_fault(self, method, path):
        if self.faults:
            wanted_method, pattern, fault = self.faults[0]
            if wanted_method in (method, "*") and (pattern is None or re.search(pattern, path)):
                self.faults.pop(0)
                return fault
        return None

    def _dispatch(self, request):
        body = json.loads(request.body) if request.body else None
        parts = urlsplit(request.url)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.calls.append((request.method, parts.path, query, body))
        if self.description is not None and self.validates(parts.path):
            self.description.check_request(request.method, request.url, body)
        fault = self._take_fault(request.method, parts.path)
        if fault == "500":
            return 500, {"Content-Type": "application/json"}, json.dumps(self.server_error())
        if fault == "timeout":
            raise requests.ReadTimeout("injected: no answer")
        if not self.authorised(request.headers):
            return 401, {"Content-Type": "application/json"}, json.dumps(self.unauthorised())
        status, payload = self.handle(request.method, parts.path, query, body)
        if self.description is not None and self.validates(parts.path):
            self.description.check_response(request.method, request.url, status, payload)
        if fault == "lost":
            raise requests.ReadTimeout("injected: the answer was lost after the work was done")
        return status, {"Content-Type": "application/json"}, json.dumps(payload) if payload is not None else ""

    def validates(self, path):
        return True

    def server_error(self):
        return {"message": "Internal error"}

    def unauthorised(self):
        return {"message": "Bad credentials"}

    def authorised(self, headers):
        raise NotImplementedError

    def handle(self, method, path, query, body):
        raise NotImplementedError


def _basic(headers):
    value = headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return None
    return base64.b64decode(value[6:]).decode()


# --------------------------------------------------------------------------- Jira
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


# --------------------------------------------------------------------------- GitHub
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


# --------------------------------------------------------------------------- ServiceNow
# The Table API's documented query parameters; anything else is refused, as a typo would be.
SYSPARMS = {
    "sysparm_query",
    "sysparm_fields",
    "sysparm_limit",
    "sysparm_offset",
    "sysparm_display_value",
    "sysparm_exclude_reference_link",
    "sysparm_view",
    "sysparm_no_count",
    "sysparm_query_category",
    "sysparm_query_no_domain",
    "sysparm_suppress_pagination_header",
    "sysparm_input_display_value",
    "sysparm_suppress_auto_sys_field",
}


class ServiceNowFake(Fake):
    base_url = "https://acme.service-now.test"
    credential = "mandate.integration:snow-password"

    def __init__(self):
        super().__init__()
        self.tables = {"incident": {}, "sys_audit": {}, "sys_user": {}}
        self.notes = {}

    def authorised(self, headers):
        return _basic(headers) == self.credential

    def server_error(self):
        return {"error": {"message": "Internal server error", "detail": ""}, "status": "failure"}

    def unauthorised(self):
        return {
            "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
            "status": "failure",
        }

    def add_person(self, person):
        sys_id = f"u{next(self.ids):031d}"
        self.tables["sys_user"][sys_id] = {
            "sys_id": sys_id,
            "user_name": person["user_name"],
            "email": person["email"],
            "name": person["name"],
        }

    def act(self, sys_id, value, person, field="approval"):
        """A person sets the approval field in the ServiceNow UI; the platform audits it."""
        record = self.tables["incident"][sys_id]
        old, record[field] = record.get(field, ""), value
        audit_id = f"a{next(self.ids):031d}"
        self.tables["sys_audit"][audit_id] = {
            "sys_id": audit_id,
            "tablename": "incident",
            "documentkey": sys_id,
            "fieldname": field,
            "oldvalue": old,
            "newvalue": value,
            "user": person["user_name"],
            "sys_created_on": f"2026-01-01 10:{len(self.tables['sys_audit']):02d}:00",
        }

    @staticmethod
    def _matches(record, query):
        for clause in filter(None, query.split("^")):
            if clause.startswith("ORDERBY"):
                continue
            field, _, value = clause.partition("=")
            if str(record.get(field, "")) != value:
                return False
        return True

    def _select(self, record, fields):
        return {k: v for k, v in record.items() if not fields or k in fields.split(",")}

    def handle(self, method, path, query, body):
        unknown = set(query) - SYSPARMS
        if unknown:
            return 400, {
                "error": {"message": f"Invalid parameter {sorted(unknown)[0]}", "detail": ""},
                "status": "failure",
            }
        match = re.match(r"^/api/now/table/([a-z_]+)(?:/([0-9a-z]+))?$", path)
        if not match or match.group(1) not in self.tables:
            return 400, {"error": {"message": "Invalid table", "detail": ""}, "status": "failure"}
        table, sys_id = self.tables[match.group(1)], match.group(2)
        fields = query.get("sysparm_fields", "")
        if sys_id is None and method == "GET":
            rows = [r for r in table.values() if self._matches(r, query.get("sysparm_query", ""))]
            if "ORDERBYDESC" in query.get("sysparm_query", ""):
                rows.reverse()
            limit = int(query.get("sysparm_limit", 10000))
            return 200, {"result": [self._select(r, fields) for r in rows[:limit]]}
        if sys_id is None and method == "POST":
            new_id = f"{next(self.ids):032x}"
            table[new_id] = {
                **{k: str(v) for k, v in body.items()},
                "sys_id": new_id,
                "number": f"INC{len(table):07d}",
                "state": "1",
                "active": "true",
            }
            self.notes[new_id] = []
            return 201, {"result": table[new_id]}
        if sys_id not in table:
            return 404, {"error": {"message": "No Record found", "detail": "Record doesn't exist"}, "status": "failure"}
        record = table[sys_id]
        if method == "GET":
            return 200, {"result": self._select(record, fields)}
        if method == "PATCH":
            for key, value in body.items():
                if key == "work_notes":
                    self.notes[sys_id].append(value)
                else:
                    record[key] = str(value)
            if record.get("state") in ("6", "7"):
                record["active"] = "false"
            return 200, {"result": record}
        return 405, {"error": {"message": "Method not supported", "detail": ""}, "status": "failure"}

    def tickets(self):
        return list(self.tables["incident"])

    def comments(self, key):
        return list(self.notes[key])

    def status(self, key):
        record = self.tables["incident"][key]
        return "closed" if record["active"] == "false" else record.get("approval", "")

    def text(self, key):
        record = self.tables["incident"][key]
        return record["short_description"] + "\n" + record["description"]
