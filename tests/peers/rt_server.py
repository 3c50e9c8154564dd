"""The real Request Tracker for the tests: started by `rt.sh`, driven through REST 2.0."""

import os
import subprocess
from functools import cache
from pathlib import Path

import requests

SCRIPT = Path(__file__).with_name("rt.sh")
PASSWORD = "rt-person-password"


@cache
def start():
    """Start RT once per test run, or share the one already serving; (url, token file), or None.

    Not reset: other runs on the machine may be using it. Nothing needs a fresh database:
    each test tags its tickets with its own prefix, and Mandate's tags are unique per
    request (id and creation time), so tickets of earlier runs are never found again.
    """
    try:
        done = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        print(done.stderr[-3000:])
        return None
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return values["MANDATE_RT_URL"], values["MANDATE_RT_TOKEN_FILE"]


class RtAdmin:
    """Root's view of RT: create people, read what tickets hold, act as a person."""

    def __init__(self, url, token_file):
        self.url = url
        self.api = f"{url}/REST/2.0"
        self.token = Path(token_file).read_text().strip()
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"token {self.token}", "Content-Type": "application/json"})

    def ensure_person(self, name, email, real_name=""):
        response = self.session.get(f"{self.api}/user/{name}")
        if response.status_code == 200:
            return
        response = self.session.post(
            f"{self.api}/user",
            json={"Name": name, "EmailAddress": email, "RealName": real_name, "Password": PASSWORD, "Privileged": 1},
        )
        assert response.status_code == 201, response.text

    def act(self, key, status, person, password=PASSWORD):
        """`person` changes the ticket's status with their own password, as in RT's UI."""
        response = requests.put(
            f"{self.api}/ticket/{key}", json={"Status": status}, auth=(person["username"], password), timeout=20
        )
        assert response.status_code == 200, response.text
        assert self.status(key) == status, response.text

    def ticket(self, key):
        return self.session.get(f"{self.api}/ticket/{key}").json()

    def status(self, key):
        return self.ticket(key)["Status"]

    def tickets_tagged(self, tag):
        query = f"Queue = 'AccessRequests' AND CF.{{MandateRequestId}} = '{tag}'"
        data = self.session.get(f"{self.api}/tickets", params={"query": query}).json()
        return [str(item["id"]) for item in data.get("items", [])]

    def tickets_with_prefix(self, prefix):
        query = f"Queue = 'AccessRequests' AND CF.{{MandateRequestId}} LIKE '{prefix}'"
        data = self.session.get(f"{self.api}/tickets", params={"query": query, "per_page": 100}).json()
        return [str(item["id"]) for item in data.get("items", [])]

    def _texts(self, key, kinds):
        history = self.session.get(
            f"{self.api}/ticket/{key}/history", params={"fields": "Type", "per_page": 100}
        ).json()
        wanted = {str(item["id"]) for item in history.get("items", []) if item.get("Type") in kinds}
        attachments = self.session.get(
            f"{self.api}/ticket/{key}/attachments",
            params={"fields": "Content,TransactionId", "per_page": 100},
        ).json()
        texts = []
        for item in attachments.get("items", []):
            txn = item.get("TransactionId")
            txn = txn.get("id") if isinstance(txn, dict) else txn
            if str(txn) in wanted and item.get("Content"):
                texts.append(item["Content"])
        return texts

    def comments(self, key):
        return self._texts(key, {"Comment"})

    def text(self, key):
        return self.ticket(key)["Subject"] + "\n" + "\n".join(self._texts(key, {"Create"}))


def token_env(token_file):
    """Expose the root token the way an operator would: through an environment variable."""
    os.environ["MANDATE_TEST_RT_TOKEN"] = Path(token_file).read_text().strip()
    return "env:MANDATE_TEST_RT_TOKEN"
