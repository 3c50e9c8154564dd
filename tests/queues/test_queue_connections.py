"""Queue connections: secrets by reference only, a working "test connection", the portal default."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from approvals.models import QueueConnection
from approvals.tickets import PENDING, ConnectionConfig, get_adapter
from tests.queues.helpers import connect

pytestmark = pytest.mark.django_db


def test_a_secret_pasted_instead_of_a_reference_is_refused():
    queue = QueueConnection(
        name="RT", kind="rt", base_url="https://rt.example.test", project="AccessRequests", credential_ref="1-abc-token"
    )
    with pytest.raises(ValidationError) as refused:
        queue.full_clean()
    assert "env:VARIABLE_NAME or file:/path" in str(refused.value.message_dict["credential_ref"])


def test_credentials_in_the_address_are_refused_without_being_repeated():
    queue = QueueConnection(
        name="RT",
        kind="rt",
        base_url="https://mandate:s3cret-pass@rt.example.test",
        project="AccessRequests",
        credential_ref="env:RT_TOKEN",
    )
    with pytest.raises(ValidationError) as refused:
        queue.full_clean()
    message = str(refused.value.message_dict["base_url"])
    assert "credential reference" in message and "s3cret-pass" not in message


@pytest.mark.parametrize("ticket_system", ["github"], indirect=True)
def test_a_secret_saved_as_the_reference_is_never_repeated_in_errors_or_logs(
    ticket_system, workflow, requester, caplog
):
    from approvals.models import OutboxMessage
    from approvals.queues.outbox import relay
    from tests.queues.helpers import write_request

    queue = connect(workflow, ticket_system)
    # Saved without the form's check (a script, a fixture): the token itself as the reference.
    QueueConnection.objects.filter(pk=queue.pk).update(credential_ref="ghp_pasted-token-value")
    write_request(workflow, requester)
    with caplog.at_level("DEBUG"):
        assert relay() == {"failed": 1}
    queue.refresh_from_db()
    recorded = [OutboxMessage.objects.get().last_error, queue.last_error, caplog.text]
    assert "env:NAME or file:/path" in recorded[0] and "env:NAME or file:/path" in recorded[1]
    assert not any("ghp_pasted-token-value" in text for text in recorded)


def test_each_kind_names_the_fields_it_needs():
    with pytest.raises(ValidationError) as refused:
        QueueConnection(name="Jira", kind="jira", credential_ref="env:JIRA_TOKEN").full_clean()
    assert set(refused.value.message_dict) >= {"base_url", "project"}
    QueueConnection(name="Inbox", kind="portal").full_clean()


def test_a_status_mapping_must_name_statuses():
    queue = QueueConnection(
        name="GH", kind="github", project="acme/x", credential_ref="env:GH", status_mapping={"approve": 3}
    )
    with pytest.raises(ValidationError):
        queue.full_clean()


def test_a_secret_file_reference_is_read_when_used(tmp_path):
    secret = tmp_path / "rt-token"
    secret.write_text("token-from-a-file\n")
    adapter = get_adapter(ConnectionConfig(kind="rt", credential_ref=f"file:{secret}"))
    assert adapter.secret() == "token-from-a-file"


@pytest.mark.parametrize("ticket_system", ["servicenow"], indirect=True)
def test_the_admin_test_connection_action_shows_the_result(ticket_system, admin_client, workflow, monkeypatch):
    good = connect(workflow, ticket_system)
    monkeypatch.setenv("MANDATE_TEST_WRONG_PASSWORD", "admin:wrong-password")
    bad = QueueConnection.objects.create(
        name="Wrong password",
        kind="servicenow",
        base_url=good.base_url,
        credential_ref="env:MANDATE_TEST_WRONG_PASSWORD",
    )
    response = admin_client.post(
        reverse("admin:approvals_queueconnection_changelist"),
        {"action": "test_connections", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith(f"{good.name}: Table “incident” readable") for m in shown)
    assert any(m.startswith("Wrong password: ServiceNow: GET") and "401" in m for m in shown)
    assert not any("wrong-password" in m for m in shown)
    good.refresh_from_db(), bad.refresh_from_db()
    assert good.last_success_at and not good.last_error
    assert "401" in bad.last_error


def test_the_portal_queue_keeps_the_request_in_mandate():
    from tests.test_ticket_adapter_contract import content

    portal = get_adapter(ConnectionConfig(kind="portal"))
    ref = portal.open_ticket(content(request_id=5))
    assert ref.key == "request-5" and portal.open_ticket(content(request_id=5)).key == ref.key
    assert portal.fetch_ticket(ref.key).decision == PENDING
    assert not portal.verify_webhook({}, b"{}")
    assert portal.check_configuration().ok


def test_the_webhook_endpoint_of_an_unknown_queue_is_404(client):
    assert client.post("/hooks/tickets/999/", data=b"{}", content_type="application/json").status_code == 404


def test_the_webhook_endpoint_refuses_get(client):
    queue = QueueConnection.objects.create(name="Inbox", kind="portal")
    assert client.get(f"/hooks/tickets/{queue.pk}/").status_code == 405
