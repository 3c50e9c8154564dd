"""Two approvers deciding one request at the same moment produce exactly one grant."""

import threading

import pytest
from django.db import connection, connections

from approvals.models import Approval, Grant
from approvals.services import decide, submit_request
from governance.exceptions import IllegalTransition
from tests import factories
from tests.conftest import require_service

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_approvals_issue_one_grant(owner, backup_owner, requester, workflow):
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")
    entitlement = factories.EntitlementFactory(access_level="write", scope="github:repo:write")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement)
    request = submit_request(
        workflow=workflow,
        entitlement=entitlement,
        duration_seconds=600,
        requested_by=requester,
        task_ref="run-1",
        justification="hotfix",
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(person):
        try:
            barrier.wait()
            decide(request, approver=person, decision="approve", channel="api")
            outcomes.append("approved")
        except IllegalTransition as exc:
            outcomes.append(f"refused: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(p,)) for p in (owner, backup_owner)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["approved", "refused"]
    assert Grant.objects.filter(request=request).count() == 1
    assert Approval.objects.filter(request=request).count() == 1
