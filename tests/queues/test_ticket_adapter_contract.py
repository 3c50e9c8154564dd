"""The contract every ticket-queue adapter keeps, run against each system.

Request Tracker is a real RT 5 server (tests/peers/rt.sh) behind a fault-injecting proxy;
Jira and GitHub are stateful fakes whose traffic is validated against the vendors' OpenAPI
descriptions; ServiceNow is a fake that follows its Table API documentation (see
tests/peers/fakes.py). The portal (built-in inbox) keeps the parts that apply to it.
"""

import pytest

from approvals.tickets import APPROVE, DENY, PENDING, TicketContent, TicketError
from tests.peers.harness import REMOTE_KINDS

pytestmark = pytest.mark.parametrize("ticket_system", REMOTE_KINDS, indirect=True)


def content(request_id=1, **changes):
    values = dict(
        request_id=request_id,
        request_url=f"https://mandate.example.test/requests/{request_id}/",
        subject="PR coding agent",
        subject_is_workload=True,
        on_behalf_of="Requester",
        entitlement="github:repo:write",
        entitlement_name="Push branches to a repository",
        access_level="Write",
        workflow="Pull-request coding agent",
        business_process="Software delivery: code change and review",
        duration_seconds=5400,
        task_ref="PLAT-1234",
        justification="Push the fix for the flaky build",
        reasons=("Write access in a medium-risk workflow needs the control owner's approval.",),
        approvers=("Owner <owner@example.test>", "Backup <backup@example.test>"),
        requester_email="requester@example.test",
    )
    values.update(changes)
    return TicketContent(**values)


def test_a_new_ticket_tells_the_approver_everything_needed_to_decide(ticket_system):
    ref = ticket_system.adapter().open_ticket(content(request_id=7))
    assert ref.created and ref.key
    text = ticket_system.text(ref.key)
    for fact in (
        "#7",
        "github:repo:write",
        "PR coding agent",
        "acting for Requester",
        "Write",
        "Pull-request coding agent",
        "Software delivery",
        "PLAT-1234",
        "1 h 30 min",
        "Push the fix for the flaky build",
        "needs the control owner's approval",
        "owner@example.test",
        "https://mandate.example.test/requests/7/",
    ):
        assert fact in text, fact


def test_opening_again_finds_the_ticket_instead_of_creating_a_second(ticket_system):
    adapter = ticket_system.adapter()
    first = adapter.open_ticket(content(request_id=3))
    again = adapter.open_ticket(content(request_id=3))
    assert again.key == first.key and not again.created
    assert adapter.find_ticket(adapter.tag_for(content(request_id=3))).key == first.key
    assert adapter.find_ticket(adapter.tag_for(content(request_id=4))) is None
    assert ticket_system.tickets() == [first.key]


def test_500s_and_timeouts_then_success_produce_exactly_one_ticket(ticket_system):
    adapter = ticket_system.adapter()
    ticket_system.inject("500")  # the first call of all (the search) fails
    ticket_system.inject_on_create("timeout", "lost")  # then creating: no answer; created, answer lost
    errors = []
    for _ in range(5):
        try:
            ref = adapter.open_ticket(content(request_id=11))
            break
        except TicketError as exc:
            errors.append(exc)
    assert [e.permanent for e in errors] == [False, False, False]
    assert not ref.created  # the retry found the ticket the lost answer had created
    assert ticket_system.tickets() == [ref.key]


def test_a_fresh_ticket_is_pending(ticket_system):
    adapter = ticket_system.adapter()
    state = adapter.fetch_ticket(adapter.open_ticket(content()).key)
    assert state.decision == PENDING and not state.closed


@pytest.mark.parametrize("decision", [APPROVE, DENY])
def test_a_decision_is_read_with_the_person_who_made_it(ticket_system, decision):
    adapter = ticket_system.adapter()
    key = adapter.open_ticket(content()).key
    ticket_system.act(key, decision, "owner")
    state = adapter.fetch_ticket(key)
    assert state.decision == decision
    assert state.actor is not None
    assert "owner" in (state.actor.username, state.actor.email.split("@")[0])


def test_the_marker_changes_when_someone_else_sets_the_same_status(ticket_system):
    adapter = ticket_system.adapter()
    key = adapter.open_ticket(content()).key
    ticket_system.act(key, APPROVE, "outsider")
    first = adapter.fetch_ticket(key)
    assert adapter.fetch_ticket(key).marker == first.marker  # reading twice is stable
    if ticket_system.kind == "rt":
        ticket_system.rt.act(key, "open", {"username": "owner"})
    ticket_system.act(key, APPROVE, "owner")
    second = adapter.fetch_ticket(key)
    assert second.marker != first.marker
    assert second.actor.username == "owner" or second.actor.email == "owner@example.test"


def test_a_custom_status_mapping_is_honoured(ticket_system):
    mapping = {"approve": ticket_system.decision_values["deny"], "deny": ticket_system.decision_values["approve"]}
    adapter = ticket_system.adapter(status_mapping=mapping)
    key = adapter.open_ticket(content()).key
    ticket_system.act(key, APPROVE, "owner")
    assert adapter.fetch_ticket(key).decision == DENY


def test_comments_reach_the_ticket(ticket_system):
    adapter = ticket_system.adapter()
    key = adapter.open_ticket(content()).key
    adapter.add_comment(key, "Mandate granted github:repo:write until 14:30.")
    assert any("granted github:repo:write" in c for c in ticket_system.comments(key))


@pytest.mark.parametrize("outcome", ["approved", "denied"])
def test_closing_resolves_the_ticket_and_is_idempotent(ticket_system, outcome):
    adapter = ticket_system.adapter()
    key = adapter.open_ticket(content()).key
    adapter.close_ticket(key, outcome=outcome, comment="Mandate: the request is cancelled.")
    adapter.close_ticket(key, outcome=outcome)
    assert ticket_system.is_closed(key)
    assert any("cancelled" in c for c in ticket_system.comments(key))


def test_a_correctly_signed_webhook_is_accepted_and_parsed_stably(ticket_system):
    adapter = ticket_system.adapter()
    key = adapter.open_ticket(content()).key
    headers, body = ticket_system.webhook(key)
    assert adapter.verify_webhook(headers, body)
    first, replay = adapter.parse_webhook(headers, body), adapter.parse_webhook(dict(headers), bytes(body))
    assert first.ticket_key == key
    assert first.event_id and replay.event_id == first.event_id
    other = adapter.parse_webhook(*ticket_system.webhook(key, event="2"))
    assert other.event_id != first.event_id


def test_a_forged_webhook_is_refused(ticket_system):
    adapter = ticket_system.adapter()
    headers, body = ticket_system.webhook("1")
    tampered = body.replace(b"1", b"2", 1)
    assert not adapter.verify_webhook(headers, tampered)
    assert not adapter.verify_webhook({}, body)
    signature_header = next(h for h in headers if "Signature" in h)
    assert not adapter.verify_webhook({**headers, signature_header: "sha256=" + "0" * 64}, body)
    # Without a configured secret, no delivery is believed.
    assert not ticket_system.adapter(webhook_secret_ref="").verify_webhook(headers, body)


def test_the_configuration_check_passes_and_names_what_is_wrong(ticket_system, monkeypatch):
    assert ticket_system.adapter().check_configuration().ok
    monkeypatch.setenv("MANDATE_TEST_BAD_CREDENTIAL", "not-the-right-secret")
    result = ticket_system.adapter(credential_ref="env:MANDATE_TEST_BAD_CREDENTIAL").check_configuration()
    assert not result.ok
    assert "not-the-right-secret" not in " ".join(result.messages)
    missing = ticket_system.adapter(credential_ref="env:MANDATE_TEST_UNSET_VARIABLE").check_configuration()
    assert not missing.ok and "MANDATE_TEST_UNSET_VARIABLE" in " ".join(missing.messages)


def test_refused_credentials_are_a_permanent_error(ticket_system, monkeypatch):
    monkeypatch.setenv("MANDATE_TEST_BAD_CREDENTIAL", "not-the-right-secret")
    adapter = ticket_system.adapter(credential_ref="env:MANDATE_TEST_BAD_CREDENTIAL")
    with pytest.raises(TicketError) as refused:
        adapter.open_ticket(content())
    assert refused.value.permanent
    assert "not-the-right-secret" not in str(refused.value)
