"""The built-in queue: the request waits in its owners' inbox in Mandate's own pages.

There is no remote system, so there is nothing to create, read back or close: the
"ticket" is the request page itself, and decisions are made there through the same
`decide` service as every other channel.
"""

from ..base import PENDING, CheckResult, TicketAdapter, TicketRef, TicketState


class PortalAdapter(TicketAdapter):
    kind = "portal"
    label = "Mandate inbox (built-in)"
    remote = False

    def find_ticket(self, tag):
        return None

    def create_ticket(self, content):
        return TicketRef(key=f"request-{content.request_id}", url=content.request_url, created=True)

    def open_ticket(self, content):
        # Nothing remote to look for: the key is derived from the request id, so opening
        # twice gives the same "ticket".
        return TicketRef(key=f"request-{content.request_id}", url=content.request_url, created=True)

    def fetch_ticket(self, key):
        # Decisions made in the portal go straight to the service; the queue never reports one.
        return TicketState(key=key, status="waiting in inbox", decision=PENDING)

    def add_comment(self, key, text):
        return None

    def close_ticket(self, key, *, outcome, comment=""):
        return None

    def check_configuration(self):
        return CheckResult(True, ("The built-in inbox needs no configuration.",))
