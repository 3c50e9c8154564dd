"""Identity providers push joiners, movers and leavers to /scim/v2/ (RFC 7643 / 7644).

Payloads are the shapes Okta and Microsoft Entra ID send.
"""

import json
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from identities.models import DirectoryGroup, ProvisioningToken, User, hash_api_key
from identities.services import issue_provisioning_token, revoke_provisioning_token
from tests import factories

pytestmark = pytest.mark.django_db

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


# --- authentication -----------------------------------------------------------------


def test_requests_without_a_valid_token_are_refused(client, scim_source):
    assert_scim_error(client.get("/scim/v2/Users"), 401)
    response = client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer mdp_0000_forged")
    assert_scim_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_token_is_stored_hashed_and_stops_when_revoked(client, scim_source):
    token, plaintext = issue_provisioning_token(scim_source)
    stored = ProvisioningToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_api_key(plaintext) and plaintext not in (stored.prefix, stored.name)
    assert Scim(client, plaintext).get("Users").status_code == 200

    revoke_provisioning_token(token)

    assert_scim_error(Scim(client, plaintext).get("Users"), 401)


def test_the_command_issues_a_token_once(scim_source, capsys, client):
    call_command("issue_scim_token", "entra", "--name", "Entra ID enterprise app")

    plaintext = capsys.readouterr().out.splitlines()[1]
    assert Scim(client, plaintext).get("Users").status_code == 200
    assert ProvisioningToken.objects.get().name == "Entra ID enterprise app"


def test_a_source_sees_only_its_own_people(scim, client):
    other = factories.IdentitySourceFactory(slug="okta", kind="scim")
    _token, other_token = issue_provisioning_token(other)
    dana = provisioned(scim)

    assert_scim_error(Scim(client, other_token).get(f"Users/{dana['id']}"), 404)
    assert Scim(client, other_token).get("Users").json()["totalResults"] == 0


# --- users ----------------------------------------------------------------------------


def test_entra_checks_then_creates_a_user(scim, scim_source):
    lookup = scim.get("Users", filter='userName eq "dana.diaz@contoso.test"')
    assert lookup.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }

    response = scim.post("Users", ENTRA_USER)

    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == body["meta"]["location"] == f"http://testserver/scim/v2/Users/{body['id']}"
    assert body["userName"] == "dana.diaz@contoso.test" and body["externalId"] == ENTRA_USER["externalId"]
    assert body["active"] is True and body["meta"]["resourceType"] == "User"
    dana = User.objects.get(pk=body["id"])
    assert (dana.identity_source, dana.external_id) == (scim_source, ENTRA_USER["externalId"])
    assert (dana.email, dana.first_name, dana.last_name, dana.display_name) == (
        "dana.diaz@contoso.test",
        "Dana",
        "Diaz",
        "Dana Diaz",
    )
    found = scim.get("Users", filter='userName eq "DANA.DIAZ@contoso.test"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == body["id"]


def test_okta_creates_a_user_and_its_password_is_never_kept(scim):
    body = provisioned(scim, OKTA_USER)

    evan = User.objects.get(pk=body["id"])
    assert not evan.has_usable_password()
    assert "password" not in body
    assert scim.get("Users", filter='externalId eq "00u1b2c3d4e5f6g7h8i9"').json()["totalResults"] == 1


def test_a_taken_user_name_is_a_conflict(scim):
    provisioned(scim)

    assert_scim_error(scim.post("Users", {**ENTRA_USER, "externalId": "another"}), 409, "uniqueness")


def test_a_local_account_with_the_same_email_is_not_merged(scim, identity_source):
    local = factories.UserFactory(username="dana", email="dana.diaz@contoso.test", identity_source=identity_source)

    assert_scim_error(scim.post("Users", ENTRA_USER), 409, "uniqueness")

    local.refresh_from_db()
    assert local.external_id == "" and local.identity_source == identity_source


def test_okta_deactivates_with_a_replace_of_active(scim):
    dana = provisioned(scim)

    response = scim.patch(f"Users/{dana['id']}", {"op": "replace", "value": {"active": False}})

    assert response.status_code == 200 and response.json()["active"] is False
    person = User.objects.get(pk=dana["id"])
    assert not person.is_active and "SCIM" in person.deactivation_reason


def test_entra_deactivates_with_a_string_boolean(scim):
    dana = provisioned(scim)

    response = scim.patch(f"Users/{dana['id']}", {"op": "Replace", "path": "active", "value": "False"})

    assert response.json()["active"] is False
    assert not User.objects.get(pk=dana["id"]).is_active


def test_a_reactivated_user_is_active_again(scim):
    dana = provisioned(scim)
    scim.patch(f"Users/{dana['id']}", {"op": "replace", "path": "active", "value": False})

    response = scim.patch(f"Users/{dana['id']}", {"op": "replace", "path": "active", "value": True})

    assert response.json()["active"] is True


def test_entra_updates_attributes_and_the_manager(scim):
    manager = provisioned(scim, {**OKTA_USER, "schemas": [USER]})
    dana = provisioned(scim)

    response = scim.patch(
        f"Users/{dana['id']}",
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "dana@contoso.test"},
        {"op": "Replace", "path": "name.familyName", "value": "Diaz-Moreno"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager["id"]},
        {"op": "Replace", "path": "title", "value": "Staff engineer"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["emails"][0]["value"] == "dana@contoso.test"
    assert body["name"]["familyName"] == "Diaz-Moreno"
    assert body[ENTERPRISE]["manager"]["value"] == manager["id"]
    person = User.objects.get(pk=dana["id"])
    assert (person.email, person.last_name, person.manager_id) == (
        "dana@contoso.test",
        "Diaz-Moreno",
        int(manager["id"]),
    )


def test_okta_replaces_a_user_with_put(scim):
    evan = provisioned(scim, OKTA_USER)

    response = scim.put(
        f"Users/{evan['id']}", {**OKTA_USER, "id": evan["id"], "name": {"givenName": "Evan", "familyName": "Eklund"}}
    )

    assert response.status_code == 200
    assert User.objects.get(pk=evan["id"]).last_name == "Eklund"


def test_delete_deactivates_and_forgets_but_keeps_the_account(scim):
    dana = provisioned(scim)

    assert scim.delete(f"Users/{dana['id']}").status_code == 204

    assert_scim_error(scim.get(f"Users/{dana['id']}"), 404)
    person = User.objects.get(pk=dana["id"])
    assert not person.is_active and person.external_id == ""
    again = {**ENTRA_USER, "userName": "dana.2@contoso.test", "emails": [{"value": "dana.2@contoso.test"}]}
    assert provisioned(scim, again)["externalId"] == ENTRA_USER["externalId"], "the identifier may be used again"


def test_paging_follows_start_index_and_count(scim):
    for n in range(3):
        provisioned(
            scim, {**OKTA_USER, "userName": f"p{n}", "externalId": f"x{n}", "emails": [{"value": f"p{n}@e.test"}]}
        )

    page = scim.get("Users", startIndex=2, count=1).json()

    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    assert page["Resources"][0]["userName"] == "p1"


# --- groups -----------------------------------------------------------------------------


def test_groups_are_created_and_their_members_changed_the_way_idps_do(scim):
    dana, evan = provisioned(scim), provisioned(scim, OKTA_USER)
    created = scim.post("Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng"})
    assert created.status_code == 201
    group = created.json()["id"]

    # Entra ID adds members with a path and a list value…
    scim.patch(
        f"Groups/{group}", {"op": "Add", "path": "members", "value": [{"value": dana["id"]}, {"value": evan["id"]}]}
    )
    # …Okta removes one with a filtered path.
    response = scim.patch(f"Groups/{group}", {"op": "remove", "path": f'members[value eq "{evan["id"]}"]'})

    assert response.status_code == 200
    assert [m["value"] for m in response.json()["members"]] == [dana["id"]]
    assert set(DirectoryGroup.objects.get(pk=group).members.values_list("pk", flat=True)) == {int(dana["id"])}
    without = scim.get(f"Groups/{group}", excludedAttributes="members").json()
    assert "members" not in without and without["displayName"] == "Eng"
    renamed = scim.patch(f"Groups/{group}", {"op": "replace", "value": {"id": group, "displayName": "Engineering"}})
    assert renamed.json()["displayName"] == "Engineering"
    assert scim.delete(f"Groups/{group}").status_code == 204
    assert not DirectoryGroup.objects.filter(pk=group).exists()


def test_a_group_with_an_unknown_member_is_refused_whole(scim):
    response = scim.post("Groups", {"displayName": "Eng", "members": [{"value": "999999"}]})

    assert_scim_error(response, 400, "noTarget")
    assert not DirectoryGroup.objects.exists()


# --- errors and discovery -------------------------------------------------------------


def test_bad_requests_get_scim_errors(scim):
    dana = provisioned(scim)

    assert_scim_error(scim.get("Users", filter='userName co "dana"'), 400, "invalidFilter")
    assert_scim_error(scim.post("Users", {"schemas": [USER]}), 400, "invalidValue")
    assert_scim_error(scim.call("patch", f"Users/{dana['id']}", {"Operations": []}), 400, "invalidSyntax")
    assert_scim_error(scim.patch(f"Users/{dana['id']}", {"op": "move", "path": "active"}), 400, "invalidSyntax")
    assert_scim_error(scim.patch(f"Users/{dana['id']}", {"op": "replace", "path": "active", "value": "maybe"}), 400)
    response = scim.client.post(
        "/scim/v2/Users", data="{not json", content_type="application/scim+json", **scim.headers
    )
    assert_scim_error(response, 400, "invalidSyntax")
    assert_scim_error(scim.get("Users/not-a-number"), 404)
    assert_scim_error(scim.post(f"Users/{dana['id']}", ENTRA_USER), 405)


def test_a_source_that_is_not_authoritative_takes_no_changes(scim, scim_source):
    scim_source.authoritative = False
    scim_source.save()

    assert_scim_error(scim.post("Users", ENTRA_USER), 403)
    assert not User.objects.filter(username=ENTRA_USER["userName"]).exists()


def test_discovery_endpoints_describe_what_is_supported(scim):
    config = scim.get("ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True and config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim.get("ResourceTypes").json()
    assert {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
