"""A workload is registered into one owned workflow; one principal is never shared by workflows."""

import contextlib
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from governance.exceptions import InvalidInput
from identities.models import WorkloadIdentity
from identities.services import register_workload, shared_external_principals
from tests import factories
from tests.conftest import require_service

pytestmark = pytest.mark.django_db

PRINCIPAL = "arn:aws:iam::123456789012:role/ai-agents"


@pytest.fixture
def cloud(db):
    return factories.IdentitySourceFactory(slug="aws", kind="cloud_iam")


def register(workflow, owner, slug, principal=PRINCIPAL, source=None):
    return register_workload(
        workflow=workflow,
        owner=owner,
        name=slug.title(),
        slug=slug,
        identity_source=source,
        external_principal=principal,
    )


def test_a_workload_records_its_source_and_principal(workflow, owner, cloud):
    workload = register(workflow, owner, "summariser", source=cloud)

    assert (workload.identity_source, workload.external_principal, workload.status) == (cloud, PRINCIPAL, "active")


def test_a_principal_already_used_in_another_workflow_is_refused(workflow, owner, identity_source):
    register(workflow, owner, "summariser")
    other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)

    with pytest.raises(InvalidInput) as refused:
        register(other, owner, "drafter")

    assert "external_principal" in refused.value.field_errors
    assert "shared by several workflows" in refused.value.message
    assert not WorkloadIdentity.objects.filter(slug="drafter").exists()


def test_the_same_principal_may_serve_two_workloads_of_one_workflow(workflow, owner):
    register(workflow, owner, "summariser")

    assert register(workflow, owner, "summariser-canary").external_principal == PRINCIPAL


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"control_owner": None, "status": "suspended"}, "unowned"),
        ({"status": "retired"}, "retired"),
    ],
)
def test_an_unowned_or_retired_workflow_takes_no_workloads(workflow, owner, change, expected):
    for field, value in change.items():
        setattr(workflow, field, value)
    workflow.save()

    with pytest.raises(InvalidInput, match=expected):
        register(workflow, owner, "late")


def test_an_inactive_owner_is_refused(workflow, outsider):
    outsider.is_active = False
    outsider.save()

    with pytest.raises(InvalidInput) as refused:
        register(workflow, outsider, "orphan")
    assert "owner" in refused.value.field_errors


def test_sharing_that_predates_the_rule_is_reported(workflow, owner, identity_source):
    other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    # Written around the service, as an old import or a raw SQL fix would.
    first = factories.WorkloadIdentityFactory(workflow=workflow, owner=owner, external_principal=PRINCIPAL)
    second = factories.WorkloadIdentityFactory(workflow=other, owner=owner, external_principal=PRINCIPAL)
    factories.WorkloadIdentityFactory(workflow=other, owner=owner, external_principal="alone")

    assert {p: {w.pk for w in ws} for p, ws in shared_external_principals().items()} == {
        PRINCIPAL: {first.pk, second.pk}
    }


def test_the_admin_registers_through_the_service_and_shows_the_refusal(admin_client, workflow, owner, identity_source):
    register(workflow, owner, "summariser")
    other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    form = {
        "name": "Drafter",
        "slug": "drafter",
        "kind": "ai_agent",
        "owner": owner.pk,
        "workflow": other.pk,
        "external_principal": PRINCIPAL,
        "status": "active",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
    }

    refused = admin_client.post(reverse("admin:identities_workloadidentity_add"), form)
    assert refused.status_code == 200 and "shared by several workflows" in refused.content.decode()

    accepted = admin_client.post(
        reverse("admin:identities_workloadidentity_add"), {**form, "external_principal": "ci:drafter"}
    )
    assert accepted.status_code == 302
    assert WorkloadIdentity.objects.get(slug="drafter").external_principal == "ci:drafter"
    shared = admin_client.get(reverse("admin:identities_workloadidentity_changelist"), {"principal": "shared"})
    assert shared.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workflows_registering_one_principal_at_once_get_one_workload(owner, identity_source, monkeypatch):
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    workflows = [factories.WorkflowFactory(control_owner=owner, identity_source=identity_source) for _ in range(2)]
    # Hold each registration between its check and its insert, so that without the lock
    # both would check before either inserts.
    barrier = threading.Barrier(2, timeout=2)
    full_clean = WorkloadIdentity.full_clean

    def clean_then_wait(self, *args, **kwargs):
        full_clean(self, *args, **kwargs)
        # A broken barrier means the other registration waits for the lock: as it should.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    monkeypatch.setattr(WorkloadIdentity, "full_clean", clean_then_wait)
    outcomes = []

    def attempt(n):
        try:
            register(workflows[n], owner, f"agent-{n}")
            outcomes.append("registered")
        except InvalidInput:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "registered"]
    assert WorkloadIdentity.objects.filter(external_principal=PRINCIPAL).count() == 1
