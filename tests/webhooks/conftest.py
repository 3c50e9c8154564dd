"""A webhook receiver over real HTTP that checks every delivery with the independent
`standardwebhooks` library (the reference implementation of the specification)."""

import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from approvals.queues.outbox import relay
from tests.peers.fakes.local_server import LocalServer


class Receiver:
    def __init__(self):
        self.secrets = []  # what the receiver was configured with; any one may verify
        self.status = 204
        self.received = []  # (headers, event) of verified deliveries
        self.refused = []
        self.server = LocalServer(self.app)

    @property
    def url(self):
        return f"{self.server.url}/hooks/mandate"

    def verified_by(self, secret, body, headers):
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    def app(self, method, path, query, headers, body):
        if method != "POST" or path != "/hooks/mandate":
            return 404, {}, b""
        lowered = {k.lower(): v for k, v in headers.items()}
        if not any(self.verified_by(secret, body, lowered) for secret in self.secrets):
            self.refused.append(lowered)
            return 401, {}, b""
        self.received.append((lowered, json.loads(body)))
        return self.status, {}, b""

    def events(self, event_type=None):
        return [e for _h, e in self.received if event_type is None or e["type"] == event_type]

    def close(self):
        self.server.close()


@pytest.fixture
def receiver():
    fake = Receiver()
    yield fake
    fake.close()


def deliver_all(rounds=20):
    for _ in range(rounds):
        if not relay():
            return
