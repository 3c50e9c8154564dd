"""The demo with a local RT: the PR coding agent's request becomes an RT ticket, and the
backup owner resolving it there makes the grant active within one polling interval.

The workflow is high-risk, so one owner's approval is needed, and Olivia, its control
owner, also owns the agent: separation of duties leaves Bruno (the backup owner) as the
only one who may approve. `tests/peers/rt.sh` creates the demo's people in RT with the
same e-mail addresses as in Mandate.
"""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from approvals.models import AccessRequest, Approval, QueueConnection, TicketLink
from approvals.queues.demo import POLL_SECONDS
from approvals.queues.tasks import poll_ticket_queues
from identities.models import User
from tests.conftest import require_service
from tests.peers import rt_server
from tests.queues.helpers import deliver_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.rt]
DEMO_PASSWORD = "mandate-demo"


@pytest.fixture
def demo_ticket(rt_peer, settings, monkeypatch):
    """load_demo with MANDATE_DEMO_RT_URL set, the outbox delivered and RT polled once."""
    require_service(rt_peer is not None, "Request Tracker 5 (tests/peers/rt.sh)")
    url, token_file = rt_peer
    rt = rt_server.RtAdmin(url, token_file)
    monkeypatch.setenv("MANDATE_DEMO_RT_URL", url)
    monkeypatch.setenv("MANDATE_DEMO_RT_TOKEN", rt.token)
    settings.DEMO_MODE = True
    call_command("load_demo", "--quiet", stdout=io.StringIO())
    deliver_all()
    request = AccessRequest.objects.get(idempotency_key="demo-pr-write", workload__slug="pr-coding-agent")
    link = TicketLink.objects.get(request=request)
    poll_ticket_queues()  # the first round: nothing decided yet
    return rt, request, link


def resolve_as(rt, link, username):
    rt.act(link.external_key, "resolved", {"username": username}, password=DEMO_PASSWORD)


def test_the_agents_write_request_is_a_ticket_naming_bruno_as_the_one_approver(demo_ticket):
    rt, request, link = demo_ticket
    assert request.state == "pending" and request.required_approvals == 1
    assert request.eligible_approver_ids == [User.objects.get(username="bruno").pk]
    ticket = rt.ticket(link.external_key)
    assert ticket["Status"] == "new" and "github:repo:write" in ticket["Subject"]
    assert "Who may approve: Bruno Becker <bruno@example.test>" in rt.text(link.external_key)
    # Only the pending request asked anyone: nothing else went to the queue.
    assert TicketLink.objects.count() == 1


def test_bruno_resolving_in_rt_makes_the_grant_active_within_one_polling_interval(demo_ticket):
    rt, request, link = demo_ticket
    resolve_as(rt, link, "bruno")
    last_round = QueueConnection.objects.get(name="Local Request Tracker").last_polled_at
    # The next beat run, even one arriving a second early, is the next polling round.
    with time_machine.travel(last_round + timedelta(seconds=POLL_SECONDS - 1), tick=False):
        poll_ticket_queues()
        request.refresh_from_db()
        assert request.state == "approved" and request.grant.status == "active"
        deliver_all()
    approval = Approval.objects.get(request=request)
    assert (approval.approver.username, approval.channel) == ("bruno", "ticket")
    assert any("Mandate granted github:repo:write" in c for c in rt.comments(link.external_key))


@pytest.mark.parametrize(
    ("username", "why"),
    [("olivia", "You own the workload “PR coding agent”"), ("rachel", "made on your behalf")],
)
def test_olivia_who_owns_the_agent_or_rachel_who_asked_resolving_is_refused(demo_ticket, username, why):
    rt, request, link = demo_ticket
    resolve_as(rt, link, username)
    with time_machine.travel(timedelta(seconds=POLL_SECONDS)):
        poll_ticket_queues()
        deliver_all()
    request.refresh_from_db()
    assert request.state == "pending" and not Approval.objects.filter(request=request).exists()
    refusals = [c for c in rt.comments(link.external_key) if "did not accept" in c]
    assert len(refusals) == 1 and why in refusals[0]
