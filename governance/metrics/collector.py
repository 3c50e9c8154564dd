"""Gauges read from the database when Prometheus scrapes: a handful of aggregate queries.

Each scrape costs one query per line below, whatever the size of the tables: every query
is an aggregate over an indexed subset (active grants, pending requests, undelivered
outbox rows, undecided review items) or over the evidence intake, which the sequencer
empties every second.
"""

from django.db.models import Count, Min
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from approvals.choices import GrantStatus, RequestState
from approvals.models import AccessRequest, Grant
from approvals.queues.models import OutboxMessage, QueueConnection
from governance.choices import ReviewOutcome
from governance.evidence.models import EvidenceIntake
from governance.models import Heartbeat
from governance.reviews.models import ReviewCampaign, ReviewItem, review_overdue


def _age(now, moment):
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0


class DatabaseCollector:
    """A prometheus_client custom collector; register it on the registry a scrape renders."""

    def describe(self):
        # Nothing to describe ahead: collecting runs queries, which must wait for a scrape.
        return []

    def collect(self):
        now = timezone.now()
        yield from self._requests(now)
        yield self._gauge(
            "mandate_grants_active", "Grants active now.", Grant.objects.filter(status=GrantStatus.ACTIVE).count()
        )
        yield from self._outbox(now)
        yield from self._evidence_intake(now)
        yield self._overdue_reviews(now)
        yield self._heartbeats(now)

    @staticmethod
    def _gauge(name, documentation, value, labels=None):
        family = GaugeMetricFamily(name, documentation, labels=list(labels or {}))
        family.add_metric(list((labels or {}).values()), value)
        return family

    def _requests(self, now):
        pending = AccessRequest.objects.filter(state=RequestState.PENDING).aggregate(
            n=Count("id"), oldest=Min("created_at")
        )
        yield self._gauge("mandate_access_requests_pending", "Access requests waiting for a decision.", pending["n"])
        yield self._gauge(
            "mandate_access_requests_pending_oldest_age_seconds",
            "Age of the oldest access request waiting for a decision (0 when none waits).",
            _age(now, pending["oldest"]),
        )

    def _outbox(self, now):
        backlog = GaugeMetricFamily(
            "mandate_outbox_backlog",
            "Outbox rows not yet delivered (nor given up), per ticket connection.",
            labels=["connection"],
        )
        oldest = GaugeMetricFamily(
            "mandate_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outbox row, per ticket connection.",
            labels=["connection"],
        )
        rows = list(
            OutboxMessage.objects.filter(delivered_at__isnull=True, failed_at__isnull=True)
            .annotate(connection=KeyTextTransform("connection_id", "payload"))
            .values("connection")
            .annotate(n=Count("id"), oldest=Min("created_at"))
            .order_by()
        )
        ids = {int(row["connection"]) for row in rows if str(row["connection"] or "").isdigit()}
        names = dict(QueueConnection.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
        for row in rows:
            key = str(row["connection"] or "")
            label = names.get(int(key), key) if key.isdigit() else "none"
            backlog.add_metric([label], row["n"])
            oldest.add_metric([label], _age(now, row["oldest"]))
        yield backlog
        yield oldest

    def _evidence_intake(self, now):
        # Intake rows are authorization decisions stamped by Mandate as they happen, so
        # the oldest `occurred_at` is how long the oldest one has waited for its chain.
        waiting = EvidenceIntake.objects.aggregate(n=Count("id"), oldest=Min("occurred_at"))
        yield self._gauge(
            "mandate_evidence_intake_backlog",
            "Evidence records durable in the intake but not yet chained (the sequencer runs every second).",
            waiting["n"],
        )
        yield self._gauge(
            "mandate_evidence_intake_oldest_age_seconds",
            "Age of the oldest evidence record waiting in the intake (0 when none waits).",
            _age(now, waiting["oldest"]),
        )

    def _overdue_reviews(self, now):
        # Overdue by the one definition (`review_overdue`), as the API, dashboard and report say.
        overdue = ReviewItem.objects.filter(
            outcome=ReviewOutcome.PENDING, campaign__in=ReviewCampaign.objects.filter(review_overdue(now))
        ).count()
        return self._gauge("mandate_review_items_overdue", "Undecided review items of overdue access reviews.", overdue)

    def _heartbeats(self, now):
        family = GaugeMetricFamily(
            "mandate_celery_heartbeat_age_seconds",
            "Seconds since each periodic job last ran through the broker (a stuck worker or beat shows here).",
            labels=["name"],
        )
        for name, seen_at in Heartbeat.objects.values_list("name", "seen_at"):
            family.add_metric([name], _age(now, seen_at))
        return family
