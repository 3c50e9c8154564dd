"""Offline verification of grant tokens against Mandate's `/.well-known/jwks.json`.

A grant token is an ES256 JWT whose `exp` is never later than its grant. Verifying it
offline saves a round trip, but it cannot see a revocation: a revoked grant's token keeps
verifying here until it expires. Use the online check (`Mandate.authorize`) where
revocation, the kill switch or task completion must take effect on the next call.

The key set is cached for its `Cache-Control: max-age` (5 minutes by default) and fetched
again when a token names a key id the cache does not know (a rotated signing key), at
most once every `min_refresh_interval` seconds so a stream of forged kids cannot turn
every check into a request.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import jwt

from .errors import InvalidToken, TransportError
from .http import Http

ALGORITHM = "ES256"
AUDIENCE = "mandate"
JWKS_PATH = "/.well-known/jwks.json"


class TokenVerifier:
    def __init__(
        self,
        http: Http,
        *,
        issuer: str | None = None,
        leeway: float = 5.0,
        min_refresh_interval: float = 30.0,
    ) -> None:
        self.http = http
        self.issuer = issuer
        self.leeway = leeway
        self.min_refresh_interval = min_refresh_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fresh_until = 0.0
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        self.fetches = 0

    def verify(
        self, token: str, *, workflow: str | None = None, scope: str | None = None, task_ref: str | None = None
    ) -> dict[str, Any]:
        """The token's claims if its signature, issuer, audience and lifetime hold and it is
        for `workflow` / `scope` / `task_ref` where given; otherwise InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"Malformed token: {exc}", code="invalid_token") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"Unexpected token algorithm {header.get('alg')!r}.", code="invalid_token")
        key = self._key(str(header.get("kid") or ""))
        options = {"require": ["exp", "iat", "jti", "sub", "grant"], "verify_iss": self.issuer is not None}
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                leeway=self.leeway,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The token has expired.", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"Invalid token: {exc}", code="invalid_token") from exc
        for name, expected in (("workflow", workflow), ("scope", scope), ("task_ref", task_ref)):
            if expected is not None and claims.get(name) != expected:
                raise InvalidToken(
                    f"The token is for {name} “{claims.get(name)}”, not “{expected}”.", code="token_mismatch"
                )
        return claims

    def _key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            now = time.monotonic()
            if now >= self._fresh_until or (
                kid not in self._keys and now - self._fetched_at >= self.min_refresh_interval
            ):
                self._refresh(now)
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("The token's signing key is unknown or retired.", code="unknown_key")
        return key

    def _refresh(self, now: float) -> None:
        try:
            response = self.http.client.get(JWKS_PATH)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise TransportError(f"The signing keys could not be read from {JWKS_PATH}: {exc}") from exc
        self.fetches += 1
        keys = {}
        for data in response.json().get("keys", []):
            if data.get("kid") and data.get("kty") == "EC":
                keys[str(data["kid"])] = jwt.PyJWK(data, algorithm=ALGORITHM)
        self._keys = keys
        self._fetched_at = now
        self._fresh_until = now + _max_age(response.headers.get("Cache-Control", ""), default=300)


def _max_age(cache_control: str, *, default: float) -> float:
    match = re.search(r"max-age=(\d+)", cache_control)
    return float(match.group(1)) if match else default
