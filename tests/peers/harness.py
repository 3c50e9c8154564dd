"""One test driver per ticket system, so one contract suite runs against all of them.

A harness builds the adapter's configuration, acts as a person in the system (changes a
status or applies a label as the UI would), reads back what the system holds, injects
faults, and produces correctly signed webhook deliveries.
"""

import json
import uuid
from dataclasses import replace

import responses

from approvals.tickets import ConnectionConfig, get_adapter
from approvals.tickets.http import sign

from . import rt_server
from .fakes import GitHubFake, JiraFake, ServiceNowFake
from .faults import FaultProxy

WEBHOOK_SECRET = "webhook-secret-for-tests"

# How the personas of tests/conftest.py appear in each system.
PEOPLE = {
    "owner": {"username": "owner", "email": "owner@example.test", "name": "Owner"},
    "backup": {"username": "backup", "email": "backup@example.test", "name": "Backup"},
    "outsider": {"username": "outsider", "email": "outsider@example.test", "name": "Outsider"},
    "requester": {"username": "requester", "email": "requester@example.test", "name": "Requester"},
    "pr-agent": {"username": "pr-agent", "email": "pr-agent@agents.example.test", "name": "PR agent", "bot": True},
}


class Harness:
    kind = ""
    remote = True

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.prefix = f"t{uuid.uuid4().hex[:10]}-"
        monkeypatch.setenv("MANDATE_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)

    def base_config(self, **fields):
        return ConnectionConfig(
            kind=self.kind,
            name=f"{self.kind} under test",
            webhook_secret_ref="env:MANDATE_TEST_WEBHOOK_SECRET",
            options={
                "request_tag_prefix": self.prefix,
                "review_tag_prefix": f"{self.prefix}review-",
                "change_tag_prefix": f"{self.prefix}change-",
                "timeout": 1,
            },
            **fields,
        )

    def adapter(self, **changes):
        return get_adapter(replace(self.config, **changes))

    def close(self):
        pass


class FakeHarness(Harness):
    fake_class = None

    def __init__(self, monkeypatch):
        super().__init__(monkeypatch)
        self.fake = self.fake_class()
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.fake.install(self.mock)
        self.mock.start()
        monkeypatch.setenv("MANDATE_TEST_TICKET_CREDENTIAL", self.fake.credential)

    def close(self):
        self.mock.stop()
        self.mock.reset()

    def inject(self, *faults, method="*", path=None):
        self.fake.inject(*faults, method=method, path=path)

    def inject_on_create(self, *faults):
        self.fake.inject(*faults, method="POST", path=self.create_path)

    def tickets(self):
        return [str(k) for k in self.fake.tickets()]

    def comments(self, key):
        return self.fake.comments(key)

    def text(self, key):
        return self.fake.text(key)


class RtHarness(Harness):
    kind = "rt"
    decision_values = {"approve": "resolved", "deny": "rejected"}

    def __init__(self, monkeypatch, url, token_file):
        super().__init__(monkeypatch)
        self.rt = rt_server.RtAdmin(url, token_file)
        for person in PEOPLE.values():
            self.rt.ensure_person(person["username"], person["email"], person["name"])
        self.proxy = FaultProxy(url).__enter__()
        self.config = self.base_config(
            base_url=self.proxy.url, project="AccessRequests", credential_ref=rt_server.token_env(token_file)
        )

    def close(self):
        self.proxy.__exit__()

    def inject(self, *faults, method="*", path=None):
        self.proxy.inject(*faults, method=method, path=path)

    def inject_on_create(self, *faults):
        self.proxy.inject(*faults, method="POST", path=r"/REST/2\.0/ticket$")

    def act(self, key, decision, who):
        self.rt.act(key, self.decision_values[decision], PEOPLE[who])

    def tickets(self):
        return self.rt.tickets_with_prefix(self.prefix)

    def comments(self, key):
        return self.rt.comments(key)

    def text(self, key):
        return self.rt.text(key)

    def is_closed(self, key):
        return self.rt.status(key) in ("resolved", "rejected")

    def webhook(self, key, event="1"):
        body = json.dumps({"ticket": int(key), "transaction": f"{key}-{event}"}).encode()
        return {"X-Mandate-Signature": sign(WEBHOOK_SECRET, body)}, body


class JiraHarness(FakeHarness):
    kind = "jira"
    fake_class = JiraFake
    create_path = r"/rest/api/\d/issue$"
    decision_values = {"approve": "Approved", "deny": "Declined"}

    def __init__(self, monkeypatch):
        super().__init__(monkeypatch)
        self.config = self.base_config(
            base_url=JiraFake.base_url, project="ACC", credential_ref="env:MANDATE_TEST_TICKET_CREDENTIAL"
        )

    def person(self, who):
        p = PEOPLE[who]
        return {"accountId": f"acc-{p['username']}", "email": p["email"], "name": p["name"], "username": p["username"]}

    def act(self, key, decision, who):
        self.fake.act(key, self.decision_values[decision], self.person(who))

    def is_closed(self, key):
        return self.fake.status(key) in ("Approved", "Declined", "Done")

    def webhook(self, key, event="1"):
        body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"key": key}}).encode()
        return {"X-Hub-Signature": sign(WEBHOOK_SECRET, body), "X-Atlassian-Webhook-Identifier": f"{key}-{event}"}, body


class JiraDataCenterHarness(JiraHarness):
    kind = "jira_dc"

    def __init__(self, monkeypatch):
        super().__init__(monkeypatch)
        self.config = replace(self.config, kind="jira_dc")
        # Data Center takes a personal access token (bearer) instead of e-mail + API token.
        monkeypatch.setenv("MANDATE_TEST_TICKET_CREDENTIAL", "dc-personal-access-token")
        self.fake.credential = "dc-personal-access-token"


class GitHubHarness(FakeHarness):
    kind = "github"
    fake_class = GitHubFake
    create_path = r"/issues$"
    decision_values = {"approve": "mandate:approved", "deny": "mandate:denied"}

    def __init__(self, monkeypatch):
        super().__init__(monkeypatch)
        self.config = self.base_config(
            base_url=GitHubFake.base_url, project=GitHubFake.repo, credential_ref="env:MANDATE_TEST_TICKET_CREDENTIAL"
        )

    def act(self, key, decision, who):
        p = PEOPLE[who]
        person = {"login": p["username"], "id": 100 + len(p["username"]), "type": "Bot" if p.get("bot") else "User"}
        self.fake.act(key, self.decision_values[decision], person)

    def is_closed(self, key):
        return self.fake.status(key) == "closed"

    def webhook(self, key, event="1"):
        body = json.dumps(
            {"action": "labeled", "issue": {"number": int(key)}, "repository": {"full_name": GitHubFake.repo}}
        ).encode()
        headers = {
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": f"delivery-{key}-{event}",
            "X-Hub-Signature-256": sign(WEBHOOK_SECRET, body),
        }
        return headers, body


class ServiceNowHarness(FakeHarness):
    kind = "servicenow"
    fake_class = ServiceNowFake
    create_path = r"/api/now/table/incident$"
    decision_values = {"approve": "approved", "deny": "rejected"}

    def __init__(self, monkeypatch):
        super().__init__(monkeypatch)
        for p in PEOPLE.values():
            self.fake.add_person({"user_name": p["username"], "email": p["email"], "name": p["name"]})
        self.config = self.base_config(
            base_url=ServiceNowFake.base_url, credential_ref="env:MANDATE_TEST_TICKET_CREDENTIAL"
        )

    def act(self, key, decision, who):
        self.fake.act(key, self.decision_values[decision], {"user_name": PEOPLE[who]["username"]})

    def is_closed(self, key):
        return self.fake.status(key) == "closed"

    def webhook(self, key, event="1"):
        body = json.dumps({"sys_id": key, "event_id": f"{key}-{event}"}).encode()
        return {"X-Mandate-Signature": sign(WEBHOOK_SECRET, body)}, body


REMOTE_KINDS = ["rt", "jira", "jira_dc", "github", "servicenow"]
HARNESSES = {
    "jira": JiraHarness,
    "jira_dc": JiraDataCenterHarness,
    "github": GitHubHarness,
    "servicenow": ServiceNowHarness,
}
