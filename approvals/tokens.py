"""Short-lived signed grant tokens for workloads (JWT, ES256) and the JWKS that verifies them.

A token carries subject, workflow, scope, task reference, grant id and a unique id (jti),
and its `exp` is never later than the grant's `expires_at`. The grant remembers the jti of
its current token: revoking the grant, or minting a new token, makes the old one fail the
authorization check at once, whatever its `exp` says.
"""

import base64
import hashlib
import json
import uuid
from datetime import timedelta

import jwt
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.http import JsonResponse
from django.utils import timezone

from governance.exceptions import MandateError

from .models import Grant, SigningKey

AUDIENCE = "mandate"
ALGORITHM = "ES256"


class TokenError(MandateError):
    http_status = 401
    code = "invalid_token"


def _fernet():
    secret = getattr(settings, "SIGNING_KEY_SECRET", "") or settings.SECRET_KEY
    digest = hashlib.sha256(b"mandate-signing-key:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def issuer():
    return settings.SITE_URL


@transaction.atomic
def create_signing_key():
    """Generate a new key pair and make it the signing key; earlier keys stay verifiable."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = timezone.now()
    # A retired key's tokens live at most as long as the longest grant still active.
    longest = Grant.objects.filter(status="active").aggregate(last=Max("expires_at"))["last"]
    verify_until = max(longest or now, now) + timedelta(minutes=5)
    SigningKey.objects.filter(retired_at__isnull=True).update(retired_at=now, verify_until=verify_until)
    return SigningKey.objects.create(
        kid=uuid.uuid4().hex,
        public_key_pem=public_pem.decode(),
        private_key_encrypted=_fernet().encrypt(private_pem).decode(),
    )


def current_signing_key():
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    return key or create_signing_key()


def verification_keys():
    now = timezone.now()
    return SigningKey.objects.filter(Q(retired_at__isnull=True) | Q(verify_until__gt=now))


def mint_token(grant):
    """Sign a token for `grant` and make it the grant's current token. Returns the JWT."""
    key = current_signing_key()
    try:
        private_pem = _fernet().decrypt(key.private_key_encrypted.encode())
    except InvalidToken as exc:
        raise TokenError("The signing key cannot be decrypted: SIGNING_KEY_SECRET or SECRET_KEY changed.") from exc
    jti = uuid.uuid4().hex
    now = timezone.now()
    claims = {
        "iss": issuer(),
        "aud": AUDIENCE,
        "sub": f"workload:{grant.workload.slug}",
        "workflow": grant.workflow.slug,
        "scope": grant.entitlement.scope,
        "task_ref": grant.task_ref,
        "grant": grant.pk,
        "jti": jti,
        "iat": int(now.timestamp()),
        "nbf": int(grant.starts_at.timestamp()),
        # Rounded down: the token never outlives the grant, even by a fraction of a second.
        "exp": int(grant.expires_at.timestamp()),
    }
    token = jwt.encode(claims, private_pem, algorithm=ALGORITHM, headers={"kid": key.kid})
    Grant.objects.filter(pk=grant.pk).update(token_id=jti)
    grant.token_id = jti
    return token


def verify_token(token):
    """Check signature, issuer, audience and lifetime; return the claims or raise TokenError."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("Malformed token.") from exc
    if header.get("alg") != ALGORITHM:
        raise TokenError("Unexpected token algorithm.")
    key = verification_keys().filter(kid=header.get("kid")).first()
    if key is None:
        raise TokenError("Unknown or retired signing key.")
    try:
        return jwt.decode(
            token,
            key.public_key_pem,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer(),
            options={"require": ["exp", "iat", "jti", "sub", "grant"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("The token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"Invalid token: {exc}") from exc


def jwks():
    """The public keys that verify grant tokens, as a JSON Web Key Set."""
    keys = []
    for key in verification_keys():
        public = serialization.load_pem_public_key(key.public_key_pem.encode())
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
        jwk.update({"kid": key.kid, "alg": key.algorithm, "use": "sig"})
        keys.append(jwk)
    return {"keys": keys}


def jwks_view(request):
    """GET /.well-known/jwks.json — public, cacheable briefly (keys rotate)."""
    response = JsonResponse(jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response
