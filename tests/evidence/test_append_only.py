"""Evidence is append-only: the model and (on PostgreSQL) the database refuse changes.

Appending is safe under concurrency: writers to one workflow queue on its chain head.
"""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from governance.evidence.models import EvidenceRecord
from governance.evidence.services import record_evidence
from governance.exceptions import IllegalTransition
from tests.conftest import require_service
from tests.evidence.helpers import record_events

TABLE = "governance_evidencerecord"


def require_postgres():
    require_service(connection.vendor == "postgresql", "PostgreSQL (set DATABASE_URL)")


@pytest.mark.django_db
def test_the_model_refuses_to_save_a_changed_record(workflow, agent):
    (record,) = record_events(workflow, 1, workload=agent)
    record.summary = "rewritten"
    with pytest.raises(IllegalTransition, match="append-only"):
        record.save()


@pytest.mark.django_db
def test_the_model_refuses_deletes_and_bulk_updates(workflow, agent):
    (record,) = record_events(workflow, 1, workload=agent)
    with pytest.raises(IllegalTransition):
        record.delete()
    with pytest.raises(IllegalTransition):
        EvidenceRecord.objects.filter(pk=record.pk).update(summary="x")
    with pytest.raises(IllegalTransition):
        EvidenceRecord.objects.filter(pk=record.pk).delete()
    assert EvidenceRecord.objects.get(pk=record.pk).summary == "event 1"


@pytest.mark.django_db
def test_records_are_not_created_around_the_service(workflow):
    with pytest.raises(IllegalTransition, match="only through"):
        EvidenceRecord.objects.create(workflow=workflow, sequence=1, kind="action")
    with pytest.raises(IllegalTransition, match="only through"):
        EvidenceRecord.objects.bulk_create([EvidenceRecord(workflow=workflow, sequence=1, kind="action")])


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [f"UPDATE {TABLE} SET summary = 'rewritten' WHERE id = %s", f"DELETE FROM {TABLE} WHERE id = %s"],
    ids=["update", "delete"],
)
def test_postgresql_refuses_updates_and_deletes_from_raw_sql(workflow, agent, statement):
    require_postgres()
    (record,) = record_events(workflow, 1, workload=agent)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [record.pk])
    assert EvidenceRecord.objects.get(pk=record.pk).summary == "event 1"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_to_one_workflow_build_one_unbroken_chain(workflow, agent, owner, identity_source):
    require_postgres()
    from governance.evidence.verification import verify_workflow_chain
    from tests import factories

    other = factories.WorkflowFactory(control_owner=owner, identity_source=identity_source)
    writers, per_writer = 6, 25
    barrier = threading.Barrier(writers)
    errors = []

    def write(target, n):
        try:
            barrier.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    record_evidence(workflow=target, kind="action", summary=f"writer {n} event {i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    # Four writers race on one workflow (the first append also races to create its head),
    # two on another: the chains must not interfere.
    targets = [workflow] * 4 + [other] * 2
    threads = [threading.Thread(target=write, args=(t, n)) for n, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sequences = list(EvidenceRecord.objects.filter(workflow=workflow).values_list("sequence", flat=True))
    assert sorted(sequences) == list(range(1, 4 * per_writer + 1))
    assert verify_workflow_chain(workflow).ok and verify_workflow_chain(other).ok
    assert EvidenceRecord.objects.filter(workflow=other).count() == 2 * per_writer
