"""/healthz: is the database reachable, the broker reachable, and a worker consuming?"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from governance.celery import app

from .models import Heartbeat


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


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


CHECKS = {"database": check_database, "broker": check_broker, "worker": check_worker}


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
    body = {"status": "ok" if not failing else "unhealthy", "failing": failing, "checks": results}
    return JsonResponse(body, status=200 if not failing else 503)
