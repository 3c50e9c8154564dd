"""/healthz: what serves (the database) and what only degrades (cache, broker, worker).

`status` is `ok`, `degraded` or `down`:
- `down` (503): the database cannot be reached, so nothing can be served;
- `degraded` (200): the service answers requests and takes decisions on PostgreSQL, but
  something around it is away: the cache (rate limits count per process until it is
  back), the broker (tasks wait in the outbox and for the sweeper) or the worker;
- `ok` (200): everything answers.

A load balancer keeps sending traffic to a degraded instance: taking every web process
out because Redis is away would turn a degradation into an outage.
"""

import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from governance.celery import app

from .models import Heartbeat

logger = logging.getLogger(__name__)
# Checks that only degrade the service; any other failing check means it is down.
DEGRADING = {"cache", "broker", "worker"}
TIMEOUT_SECONDS = 1
# What this process last reported: a change is logged once, not every probe.
_last = {"status": "ok", "failing": []}


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def check_cache():
    """The Redis behind the cache and the shared rate limits, if one is configured."""
    urls = {url for url in (settings.REDIS_URL, getattr(settings, "RATE_LIMIT_REDIS_URL", "")) if url}
    if not urls:
        return {"ok": True, "backend": "local", "rate_limits": "per process"}
    for url in sorted(urls):
        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS)
        try:
            client.ping()
        except redis.RedisError as exc:
            return {
                "ok": False,
                "backend": "redis",
                "rate_limits": "per process until Redis is back",
                "error": f"{type(exc).__name__}: {exc}"[:300],
            }
        finally:
            client.close()
    return {"ok": True, "backend": "redis", "rate_limits": "shared"}


def check_broker():
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"ok": True, "transport": app.conf.broker_url.split("://", 1)[0]}


def check_worker():
    beat = Heartbeat.objects.filter(name="worker").first()
    if beat is None:
        return {"ok": False, "error": "no worker heartbeat yet"}
    age = timezone.now() - beat.seen_at
    ok = age <= settings.HEARTBEAT_MAX_AGE
    result = {"ok": ok, "last_seen": beat.seen_at.isoformat(), "age_seconds": int(age.total_seconds())}
    if not ok:
        result["error"] = f"last heartbeat {int(age.total_seconds())} s ago"
    return result


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker, "worker": check_worker}


@never_cache
@require_GET
def healthz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # a health check reports failures, it never raises
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        if name == "database" and not results[name]["ok"]:
            results["worker"] = {"ok": False, "error": "database unavailable"}
            break
    failing = [name for name, result in results.items() if not result["ok"]]
    if not failing:
        status = "ok"
    elif set(failing) <= DEGRADING:
        status = "degraded"
    else:
        status = "down"
    if (status, failing) != (_last["status"], _last["failing"]):
        if status == "ok":
            logger.warning("health: ok again (was %s: %s)", _last["status"], ", ".join(_last["failing"]))
        else:
            logger.warning("health: %s (%s)", status, ", ".join(f"{n}: {results[n].get('error', '')}" for n in failing))
        _last.update(status=status, failing=failing)
    body = {"status": status, "failing": failing, "checks": results}
    return JsonResponse(body, status=503 if status == "down" else 200)
