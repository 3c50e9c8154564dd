"""Secrets by reference: the database holds where a secret is, never the secret.

A reference is `env:NAME` (an environment variable) or `file:/absolute/path` (a file, e.g.
a mounted Kubernetes or Docker secret; surrounding whitespace is stripped).
"""

import os
import re
from pathlib import Path

from .errors import TicketError

REFERENCE_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/\S+)$")


def is_valid_reference(ref: str) -> bool:
    return bool(REFERENCE_RE.match(ref or ""))


def resolve_secret(ref: str, *, what: str = "secret") -> str:
    """Read the secret a reference points at. Errors name the reference, never the value."""
    if not ref:
        raise TicketError(f"No {what} is configured.", permanent=True)
    if not is_valid_reference(ref):
        # Not quoted: what was typed where a reference belongs is often the secret itself.
        raise TicketError(f"The {what} reference is not env:NAME or file:/path (not shown).", permanent=True)
    kind, _, location = ref.partition(":")
    if kind == "env":
        value = os.environ.get(location, "")
        if not value:
            raise TicketError(f"The environment variable {location} ({what}) is not set.", permanent=True)
        return value
    try:
        value = Path(location).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TicketError(f"The {what} file {location} cannot be read ({exc.strerror}).", permanent=True)
    if not value:
        raise TicketError(f"The {what} file {location} is empty.", permanent=True)
    return value
