"""With the demo data and a local RT, the PR coding agent's pending request opens an RT ticket."""

import io

import pytest
from django.core.management import call_command

from approvals.models import AccessRequest, TicketLink
from tests.conftest import require_service
from tests.peers import rt_server
from tests.ticket_flow_helpers import deliver_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.rt]


def test_the_demo_agents_write_request_becomes_a_ticket_in_the_local_rt(rt_peer, settings, monkeypatch):
    require_service(rt_peer is not None, "Request Tracker 5 (tests/peers/rt.sh)")
    url, token_file = rt_peer
    monkeypatch.setenv("MANDATE_DEMO_RT_URL", url)
    monkeypatch.setenv("MANDATE_DEMO_RT_TOKEN", rt_server.RtAdmin(url, token_file).token)
    settings.DEMO_MODE = True
    call_command("load_demo", "--quiet", stdout=io.StringIO())
    deliver_all()
    request = AccessRequest.objects.get(idempotency_key="demo-pr-write", workload__slug="pr-coding-agent")
    assert request.state == "pending"
    link = TicketLink.objects.get(request=request)
    ticket = rt_server.RtAdmin(url, token_file).ticket(link.external_key)
    assert ticket["Status"] == "new" and "github:repo:write" in ticket["Subject"]
    # Only the pending request asked anyone: nothing else went to the queue.
    assert TicketLink.objects.count() == 1
