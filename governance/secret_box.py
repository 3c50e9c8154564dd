"""Secrets Mandate must hold itself (a private key, a bot token, a webhook signing secret),
stored encrypted: Fernet with a key derived from SIGNING_KEY_SECRET (or SECRET_KEY) and a
purpose, so a value sealed for one purpose never opens for another.

Where a secret can live outside the database, keep it there by reference instead
(`approvals.tickets.secrets`); this box is for what Mandate creates or is handed once.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from governance.exceptions import MandateError


class SecretUnreadable(MandateError):
    http_status = 500
    code = "secret_unreadable"


def fernet_for(purpose: str) -> Fernet:
    secret = getattr(settings, "SIGNING_KEY_SECRET", "") or settings.SECRET_KEY
    digest = hashlib.sha256(f"mandate-{purpose}:".encode() + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(value: str, *, purpose: str) -> str:
    """The encrypted form of `value` to store; empty stays empty."""
    return fernet_for(purpose).encrypt(value.encode()).decode() if value else ""


def unseal(token: str, *, purpose: str) -> str:
    """The clear value of a sealed secret. Errors never quote either form."""
    if not token:
        return ""
    try:
        return fernet_for(purpose).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            f"A stored {purpose} cannot be decrypted: SIGNING_KEY_SECRET or SECRET_KEY changed."
        ) from exc
