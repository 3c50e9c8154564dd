"""GET /metrics in the Prometheus text format, for a scraper with the token or from an allowed address."""

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from .collector import DatabaseCollector


def _allowed(request):
    """A bearer token equal to METRICS_TOKEN, or a client address in METRICS_ALLOW_FROM."""
    token = settings.METRICS_TOKEN
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOW_FROM)


def process_metrics():
    """Counters and histograms: summed over every process of this host in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def database_metrics():
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return generate_latest(registry)


@require_GET
def metrics(request):
    if not _allowed(request):
        return HttpResponseForbidden(
            "Metrics need the METRICS_TOKEN bearer token or an address in METRICS_ALLOW_FROM.\n"
        )
    return HttpResponse(process_metrics() + database_metrics(), content_type=CONTENT_TYPE_LATEST)
