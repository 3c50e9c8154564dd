"""SCIM test helpers: payloads as Okta and Microsoft Entra ID send them, and a client with a token."""

import json
from urllib.parse import urlencode

import pytest

from identities.services import issue_provisioning_token
from tests import factories

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

ENTRA_USER = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "a3f0c6e2-5f1b-4a51-9c1e-1b6f0e2d7c11",
    "userName": "dana.diaz@contoso.test",
    "active": True,
    "displayName": "Dana Diaz",
    "emails": [{"primary": True, "type": "work", "value": "dana.diaz@contoso.test"}],
    "name": {"formatted": "Dana Diaz", "familyName": "Diaz", "givenName": "Dana"},
    "title": "Engineer",
    "preferredLanguage": "en-GB",
    ENTERPRISE: {"department": "Platform"},
}

OKTA_USER = {
    "schemas": [USER],
    "userName": "evan.ek@example.test",
    "name": {"givenName": "Evan", "familyName": "Ek"},
    "emails": [{"primary": True, "value": "evan.ek@example.test", "type": "work"}],
    "displayName": "Evan Ek",
    "locale": "en-US",
    "externalId": "00u1b2c3d4e5f6g7h8i9",
    "groups": [],
    "password": "t1meMa$heen",
    "active": True,
}


@pytest.fixture
def scim_source(db):
    return factories.IdentitySourceFactory(slug="entra", name="Entra ID", kind="scim")


class Scim:
    """The test client speaking SCIM with one identity source's bearer token."""

    def __init__(self, client, token):
        self.client, self.headers = client, {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def call(self, method, path, body=None, **params):
        kwargs = {"content_type": "application/scim+json", **self.headers}
        if body is not None:
            kwargs["data"] = json.dumps(body)
        url = f"/scim/v2/{path}"
        if params:
            kwargs["QUERY_STRING"] = urlencode(params)
        return getattr(self.client, method)(url, **kwargs)

    def get(self, path, **params):
        return self.call("get", path, **params)

    def post(self, path, body):
        return self.call("post", path, body)

    def put(self, path, body):
        return self.call("put", path, body)

    def patch(self, path, *operations):
        return self.call("patch", path, {"schemas": [PATCH_OP], "Operations": list(operations)})

    def delete(self, path):
        return self.call("delete", path)


@pytest.fixture
def scim(client, scim_source):
    _token, plaintext = issue_provisioning_token(scim_source, name="Entra ID")
    return Scim(client, plaintext)


def provisioned(scim, payload=ENTRA_USER):
    response = scim.post("Users", payload)
    assert response.status_code == 201, response.content
    return response.json()


def assert_scim_error(response, status, scim_type=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    if scim_type:
        assert body["scimType"] == scim_type
