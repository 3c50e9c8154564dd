"""Workload grant tokens: ES256, verifiable from the JWKS, never outliving the grant."""

import io

import jwt
import pytest
from django.core.management import call_command

from approvals.models import SigningKey
from approvals.services import authorize, revoke_grant, submit_request
from approvals.tokens import TokenError, mint_token, verify_token
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(workflow, agent, requester):
    entitlement = factories.EntitlementFactory(scope="github:repo:read", access_level="read")
    factories.PolicyFactory(workflow=workflow, entitlement=entitlement, max_ttl_seconds=3600)
    request = submit_request(
        workflow=workflow,
        entitlement=entitlement,
        duration_seconds=900,
        workload=agent,
        on_behalf_of=requester,
        task_ref="run-9",
        justification="read code",
    )
    return request.grant, request.issued_token


def jwks_key(client, token):
    jwks = client.get("/.well-known/jwks.json").json()
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.PyJWKSet.from_dict(jwks)[kid].key


def test_the_token_verifies_against_the_published_jwks(client, issued, settings):
    grant, token = issued
    claims = jwt.decode(token, jwks_key(client, token), algorithms=["ES256"], audience="mandate")
    assert claims["sub"] == f"workload:{grant.workload.slug}"
    assert claims["workflow"] == grant.workflow.slug and claims["scope"] == "github:repo:read"
    assert claims["task_ref"] == "run-9" and claims["grant"] == grant.pk and claims["jti"] == grant.token_id
    assert claims["exp"] <= grant.expires_at.timestamp()
    assert claims["iss"] == settings.SITE_URL
    assert jwt.get_unverified_header(token)["alg"] == "ES256"


def test_a_token_authorizes_until_its_grant_is_revoked(issued):
    grant, token = issued
    claims = verify_token(token)
    kwargs = dict(workflow=grant.workflow.slug, scope="github:repo:read", workload=grant.workload, token_claims=claims)
    assert authorize(**kwargs).allow
    revoke_grant(grant, reason="leak suspected")
    result = authorize(**kwargs)
    assert not result.allow and "revoked" in result.reasons[0]


def test_minting_a_new_token_retires_the_old_one(issued):
    grant, old = issued
    new = mint_token(grant)
    kwargs = dict(workflow=grant.workflow.slug, scope="github:repo:read", workload=grant.workload)
    assert authorize(**kwargs, token_claims=verify_token(new)).allow
    result = authorize(**kwargs, token_claims=verify_token(old))
    assert not result.allow and "not the current token" in result.reasons[0]


def test_tampered_and_foreign_tokens_are_refused(issued):
    _, token = issued
    header, payload, signature = token.split(".")
    with pytest.raises(TokenError):
        verify_token(f"{header}.{payload[:-2]}xx.{signature}")
    with pytest.raises(TokenError, match="Malformed"):
        verify_token("not-a-token")
    forged = jwt.encode({"sub": "workload:x", "grant": 1, "jti": "a", "exp": 9999999999, "iat": 1}, "k" * 32, "HS256")
    with pytest.raises(TokenError, match="algorithm"):
        verify_token(forged)


def test_rotation_keeps_the_old_key_for_verification(client, issued):
    grant, token = issued
    old_kid = jwt.get_unverified_header(token)["kid"]
    call_command("rotate_signing_key", stdout=io.StringIO())
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert old_kid in kids and len(kids) == 2
    assert verify_token(token)["grant"] == grant.pk
    assert jwt.get_unverified_header(mint_token(grant))["kid"] != old_kid


def test_private_keys_are_stored_encrypted(issued):
    key = SigningKey.objects.get()
    assert "PRIVATE KEY" not in key.private_key_encrypted
    assert "PUBLIC KEY" in key.public_key_pem
