"""The outbound stream: sealed evidence to a real syslog receiver (TCP, TLS) or an HTTP
collector, at least once, resuming from the last delivered chain position."""

import typing

import pydantic
import pytest
from django.core.management import call_command
from ocsf.v1_7_0 import events as ocsf_events
from ocsf.v1_7_0 import objects as ocsf_objects
from ocsf.v1_7_0.events import BaseEvent
from pydantic.errors import PydanticUndefinedAnnotation

from governance.evidence.checkpoints import sign_checkpoints
from governance.evidence.models import EvidenceCheckpoint
from governance.evidence.stream import stream_events, stream_to_configured_destination
from governance.evidence.transports import DeliveryError, open_transport
from governance.models import EvidenceStreamPosition
from tests.evidence.helpers import record_events
from tests.factories import WorkflowFactory

from .receivers import HttpCollector, SyslogReceiver, self_signed_certificate
from .test_ocsf_events import unknown_attributes, validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = SyslogReceiver()
    yield server
    server.close()


def base_event():
    """OCSF's Base Event model; its objects are made on first use, so name each one it lacks."""
    namespace = {}
    for _ in range(50):
        try:
            BaseEvent.model_rebuild(_types_namespace=namespace)
            return BaseEvent
        except PydanticUndefinedAnnotation as exc:
            for module in (ocsf_objects, ocsf_events, pydantic, typing):
                try:
                    namespace[exc.name] = getattr(module, exc.name)
                    break
                except AttributeError:
                    continue
    raise AssertionError("OCSF's Base Event did not resolve")


def positions(events):
    return [(e["unmapped"]["workflow"], e["metadata"]["sequence"]) for e in events]


def test_every_sealed_record_reaches_a_syslog_receiver_over_tcp(receiver, workflow, agent):
    record_events(workflow, 5, workload=agent)
    transport = open_transport(f"syslog+tcp://127.0.0.1:{receiver.port}")
    summary = stream_events(transport, stream="siem", batch_size=2)
    assert summary["sent"] == 5 and summary["batches"] == 3
    assert positions(receiver.events()) == [(workflow.slug, n) for n in range(1, 6)]
    assert receiver.messages[0].startswith("<110>1 ")  # RFC 5424, facility log audit, informational
    for event in receiver.events():
        validate(event)
    # Nothing new: nothing sent again.
    assert stream_events(transport, stream="siem")["sent"] == 0
    record_events(workflow, 2, workload=agent)
    stream_events(transport, stream="siem")
    assert [seq for _, seq in positions(receiver.events())] == [1, 2, 3, 4, 5, 6, 7]


def test_a_receiver_lost_mid_batch_gets_the_batch_again(receiver, workflow, agent):
    record_events(workflow, 4, workload=agent)
    transport = open_transport(f"syslog+tcp://127.0.0.1:{receiver.port}")
    receiver.fail_next = 1
    summary = stream_events(transport, stream="siem", batch_size=10)
    assert summary["sent"] == 0 and summary["error"]
    assert EvidenceStreamPosition.objects.get(stream="siem", workflow=workflow).last_sequence == 0
    assert stream_events(transport, stream="siem")["sent"] == 4
    assert [seq for _, seq in positions(receiver.events())] == [1, 2, 3, 4]


def test_a_receiver_that_is_down_stops_the_run_and_the_next_resumes(workflow, agent):
    other = WorkflowFactory(control_owner=workflow.control_owner, identity_source=workflow.identity_source)
    record_events(workflow, 3, workload=agent)
    record_events(other, 2)
    server = SyslogReceiver()
    port = server.port
    transport = open_transport(f"syslog+tcp://127.0.0.1:{port}")
    stream_events(transport, stream="siem", batch_size=2, max_batches=1)
    server.close()
    assert stream_events(transport, stream="siem")["error"]  # refused: nothing moves
    assert EvidenceStreamPosition.objects.get(stream="siem", workflow=workflow).last_sequence == 2
    again = SyslogReceiver()
    transport = open_transport(f"syslog+tcp://127.0.0.1:{again.port}")
    assert stream_events(transport, stream="siem")["sent"] == 3
    assert sorted(positions(again.events())) == sorted([(workflow.slug, 3), (other.slug, 1), (other.slug, 2)])
    again.close()


def test_tls_with_the_receivers_certificate_trusted(tmp_path, workflow, agent):
    cert, key = self_signed_certificate(tmp_path)
    server = SyslogReceiver(tls_files=(cert, key))
    record_events(workflow, 3, workload=agent)
    untrusted = open_transport(f"syslog+tls://127.0.0.1:{server.port}")
    summary = stream_events(untrusted, stream="siem")
    assert summary["sent"] == 0 and "not trusted" in summary["error"]
    trusted = open_transport(f"syslog+tls://127.0.0.1:{server.port}", ca_file=str(cert))
    assert stream_events(trusted, stream="siem")["sent"] == 3
    assert [seq for _, seq in positions(server.events())] == [1, 2, 3]
    server.close()


def test_an_http_collector_with_retry_on_5xx(settings, workflow, agent):
    collector = HttpCollector()
    record_events(workflow, 3, workload=agent)
    settings.OCSF_STREAM_URL, settings.OCSF_STREAM_TOKEN = collector.url, "s3cret"
    collector.answers = [503]
    assert stream_to_configured_destination()["error"]
    assert stream_to_configured_destination()["sent"] == 3
    assert [seq for _, seq in positions(collector.events())] == [1, 2, 3]
    assert collector.headers[0]["Authorization"] == "Bearer s3cret"
    assert collector.headers[0]["Content-Type"].startswith("application/x-ndjson")
    collector.close()


def test_a_rejecting_collector_is_a_permanent_error(workflow, agent):
    collector = HttpCollector()
    collector.answers = [401]
    with pytest.raises(DeliveryError) as refused:
        open_transport(collector.url).send(["{}"])
    assert refused.value.permanent
    collector.close()


def test_each_stream_keeps_its_own_position(receiver, workflow, agent):
    record_events(workflow, 2, workload=agent)
    transport = open_transport(f"syslog+tcp://127.0.0.1:{receiver.port}")
    stream_events(transport, stream="siem")
    stream_events(transport, stream="archive")
    assert len(receiver.events()) == 4


def test_the_command_streams_to_a_url(receiver, workflow, agent, capsys):
    record_events(workflow, 2, workload=agent)
    call_command("stream_ocsf", url=f"syslog+tcp://127.0.0.1:{receiver.port}")
    assert "Sent 2 events" in capsys.readouterr().out


@pytest.mark.parametrize("url", ["ftp://x", "syslog+tcp://hostonly", "nonsense"])
def test_a_bad_destination_is_refused_clearly(url):
    with pytest.raises(DeliveryError) as bad:
        open_transport(url)
    assert bad.value.permanent


def test_signed_checkpoints_follow_the_records_to_the_siem(receiver, workflow, agent):
    record_events(workflow, 3, workload=agent)
    sign_checkpoints()
    transport = open_transport(f"syslog+tcp://127.0.0.1:{receiver.port}")
    summary = stream_events(transport, stream="siem")
    assert summary["sent"] == 3 and summary["checkpoints"] == 1
    event = receiver.events()[-1]
    # OCSF's Base Event: no attribute beyond the schema's, the checkpoint in `unmapped`.
    model = base_event().model_validate(event)
    assert unknown_attributes(model) == []
    stored = EvidenceCheckpoint.objects.get()
    assert event["class_uid"] == 0 and event["metadata"]["uid"] == f"{workflow.slug}/checkpoint/3"
    assert event["unmapped"]["checkpoint"]["signature"] == stored.signature
    # Signed later, sent on its own next time; nothing twice.
    record_events(workflow, 1, workload=agent)
    sign_checkpoints()
    assert stream_events(transport, stream="siem")["checkpoints"] == 1
    assert stream_events(transport, stream="siem")["checkpoints"] == 0
