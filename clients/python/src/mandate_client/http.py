"""The HTTP layer: one httpx client, bearer key, JSON in and out, the API's error shape
mapped to exceptions, and polite retries (429 `Retry-After`, connection failures, 502-504)
for calls that are safe to repeat."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import httpx

from ._version import __version__
from .errors import MandateError, RateLimited, ServerError, TransportError, error_from_response

logger = logging.getLogger("mandate_client")

RETRY_STATUSES = frozenset({429, 502, 503, 504})


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Http:
    """Bearer-authenticated JSON calls against `<url>/api/v1/`."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url:
            raise ValueError("Mandate's URL is required (e.g. https://mandate.example.com).")
        if not key:
            raise ValueError("An API key is required (a workload's key, or a person's access token).")
        self.base_url = url.rstrip("/")
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={
                "Authorization": f"Bearer {key}",
                "Accept": "application/json",
                "User-Agent": f"mandate-client/{__version__}",
            },
        )

    def close(self) -> None:
        self.client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry: bool = False,
        deadline: float | None = None,
    ) -> Any:
        """One API call; returns the decoded JSON (None for an empty body).

        With `retry`, a 429 waits for its `Retry-After` and a transport failure or 502-504
        backs off, up to `retries` times and never past `deadline` (a `time.monotonic()`).
        """
        attempt = 0
        while True:
            try:
                response = self.client.request(method, path, json=json, params=params, headers=headers)
            except httpx.HTTPError as exc:
                error: MandateError = TransportError(f"Mandate at {self.base_url} did not answer: {exc}")
            else:
                if response.status_code < 400:
                    return response.json() if response.content else None
                error = self._error(response)
            attempt += 1
            if not retry or attempt > self.retries or not self._retryable(error):
                raise error
            wait = error.retry_after if error.retry_after is not None else min(8.0, 0.5 * 2**attempt)
            wait = min(wait + random.uniform(0, 0.1), self.max_retry_wait)  # noqa: S311 (jitter, not crypto)
            if deadline is not None and time.monotonic() + wait > deadline:
                raise error
            logger.info("Mandate %s %s: %s; retrying in %.1f s", method, path, error, wait)
            time.sleep(wait)

    @staticmethod
    def _retryable(error: MandateError) -> bool:
        return isinstance(error, (RateLimited, TransportError)) or (
            isinstance(error, ServerError) and error.status in RETRY_STATUSES
        )

    @staticmethod
    def _error(response: httpx.Response) -> MandateError:
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:200] or response.reason_phrase}
        return error_from_response(response.status_code, body, retry_after_seconds(response))
