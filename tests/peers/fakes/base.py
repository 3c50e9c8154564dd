"""Stateful fakes of the SaaS ticket systems that cannot run here: Jira, GitHub, ServiceNow.

They sit behind `responses` (so the adapters' real `requests` code runs), keep issues in
memory, and let a test act as a person in the system (`act`). Jira and GitHub traffic —
requests and the fakes' own answers — is validated against the vendors' OpenAPI
descriptions (see `openapi.py`); ServiceNow, which publishes none, follows its Table API
documentation (https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html):
`{"result": …}` envelopes, `sysparm_*` query parameters, encoded queries joined with `^`,
`{"error": {"message", "detail"}, "status": "failure"}` on errors.

`faults` injects failures into the next matching calls: "500" (answer 500 without doing
anything), "timeout" (no answer, nothing done), "lost" (do the work, then lose the
answer — the case that doubles tickets in naive clients) and "slow" (answer normally, after
`slow_seconds`).
"""

import base64
import itertools
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import requests


class Fake:
    base_url = ""
    description = None  # OpenApiDescription, when the vendor publishes one
    slow_seconds = 0.5

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
        if fault == "slow":
            time.sleep(self.slow_seconds)
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
