"""Per request: the request id, the API latency histogram and one structured access-log line."""

import logging
import time

from governance import logs

from .instruments import REQUEST_DURATION

access_log = logging.getLogger("mandate.request")
AUTHORIZE_PATH = "/api/v1/authorize"


def _subject(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    if getattr(user, "is_workload", False):
        return f"workload:{user.workload.slug}"
    return f"user:{user.get_username()}"


def _route(request):
    """The URL pattern that answered (`/api/v1/workflows/<pk>/`), not the path: bounded, no ids."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return ""
    return "/" + match.route.replace("^", "").replace("$", "")


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = logs.new_request_id(request.headers.get("X-Request-ID", ""))
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration = time.perf_counter() - started
            response["X-Request-ID"] = rid
            path = request.path
            if path.startswith("/api/"):
                endpoint = "authorize" if path.rstrip("/") == AUTHORIZE_PATH else "api"
                status = f"{response.status_code // 100}xx"
                REQUEST_DURATION.labels(endpoint=endpoint, method=request.method, status=status).observe(duration)
            if not path.startswith("/static/"):
                access_log.info(
                    "%s %s %s",
                    request.method,
                    path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": path,
                        "route": _route(request),
                        "status": response.status_code,
                        "duration_ms": round(duration * 1000, 2),
                        "subject": _subject(request),
                    },
                )
            return response
        finally:
            logs.request_id.reset(token)
