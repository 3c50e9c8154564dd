"""The Ed25519 keys that sign evidence checkpoints: kept in files, never in the database.

`EVIDENCE_SIGNING_KEY_DIR` holds one `<key id>.pub` (public key, PEM) per key ever used
and one `<key id>.key` (private key, PKCS #8 PEM, mode 0600) for the key that signs now.
Whoever controls the database, even as the owner of its tables, can neither read the
private key nor add a public one, so a checkpoint they forge does not verify. The key
id is the first 16 hex digits of the SHA-256 of the raw public key.

Rotating (`manage.py rotate_evidence_key`, like `rotate_signing_key` for grant tokens)
makes a new key the signer and deletes the old private key; its public key stays
published for good, since the checkpoints it signed stay part of the trail. A key is made
on first use when the directory holds none, as the grant-token key is.
"""

import base64
import fcntl
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from governance.exceptions import MandateError


class CheckpointKeyError(MandateError):
    code = "checkpoint_key"


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    public_key: Ed25519PublicKey
    current: bool

    @property
    def raw(self):
        return self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def as_jwk(self):
        """The key as a JSON Web Key (RFC 8037), as `/.well-known/evidence-keys.json` lists it."""
        x = base64.urlsafe_b64encode(self.raw).rstrip(b"=").decode()
        status = "current" if self.current else "retired"
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": x,
            "kid": self.key_id,
            "alg": "EdDSA",
            "use": "sig",
            "status": status,
        }


def key_directory():
    return Path(settings.EVIDENCE_SIGNING_KEY_DIR)


def key_id_of(public_key):
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _write(path, data, mode):
    # O_EXCL: a key file is written once and never overwritten.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _private_key_files(directory):
    return sorted(directory.glob("*.key"))


class _DirectoryLock:
    """An exclusive lock on the key directory while a key is made or retired (several processes)."""

    def __init__(self, directory):
        self.path = directory / ".lock"

    def __enter__(self):
        self.fh = open(self.path, "a")  # noqa: SIM115 (closed in __exit__)
        fcntl.flock(self.fh, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _generate(directory):
    private = Ed25519PrivateKey.generate()
    key_id = key_id_of(private.public_key())
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(directory / f"{key_id}.pub", public_pem, 0o644)
    _write(directory / f"{key_id}.key", private_pem, 0o600)
    return key_id, private


def _load_private(path):
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CheckpointKeyError(f"The evidence signing key {path.name} cannot be read: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise CheckpointKeyError(f"The evidence signing key {path.name} is not an Ed25519 key.")
    return key_id_of(private.public_key()), private


def signing_key():
    """(key id, private key) of the key that signs checkpoints now; made if there is none."""
    directory = key_directory()
    keys = _private_key_files(directory) if directory.is_dir() else []
    if len(keys) == 1:
        return _load_private(keys[0])
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _DirectoryLock(directory):
        keys = _private_key_files(directory)
        if not keys:
            return _generate(directory)
        if len(keys) > 1:
            names = ", ".join(path.name for path in keys)
            raise CheckpointKeyError(f"EVIDENCE_SIGNING_KEY_DIR holds more than one private key ({names}).")
        return _load_private(keys[0])


def rotate_signing_key():
    """Make a new signing key, delete the previous private key; return the new key id."""
    directory = key_directory()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _DirectoryLock(directory):
        previous = _private_key_files(directory)
        key_id, _ = _generate(directory)
        for path in previous:
            path.unlink()
    return key_id


def published_keys():
    """Every public key that has signed checkpoints here, the current one marked."""
    directory = key_directory()
    if not directory.is_dir():
        return []
    current = {path.stem for path in _private_key_files(directory)}
    keys = []
    for path in sorted(directory.glob("*.pub")):
        public = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(public, Ed25519PublicKey) and key_id_of(public) == path.stem:
            keys.append(PublishedKey(path.stem, public, path.stem in current))
    return keys


def key_set():
    """The published keys as a JSON Web Key Set: `/.well-known/evidence-keys.json`."""
    return {"keys": [key.as_jwk() for key in published_keys()]}
