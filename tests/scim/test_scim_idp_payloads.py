"""Requests exactly as Microsoft Entra ID and Okta document them, and the RFC 7644 examples.

Entra ID: "Tutorial: Develop and plan provisioning for a SCIM endpoint" (its request and
response examples, user and group), plus the PATCH forms Entra sends without the
`aadOptscim062020` flag (capitalised ops, string booleans, value objects without a path
whose keys are attribute paths). Okta: "SCIM 2.0 protocol reference" requests.
"""

import pytest

from identities.models import DirectoryGroup, User
from tests.scim.conftest import ENTERPRISE, USER, assert_scim_error

pytestmark = pytest.mark.django_db

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

ENTRA_CREATE = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
    "active": True,
    "emails": [
        {"primary": True, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}
    ],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "roles": [],
}


def created(scim, payload):
    response = scim.post("Users", payload)
    assert response.status_code == 201, response.content
    return response.json()


def test_entra_id_user_lifecycle(scim):
    missing = scim.get("Users", filter='userName eq "non-existent user"').json()
    assert (missing["totalResults"], missing["Resources"]) == (0, [])
    user = created(scim, ENTRA_CREATE)
    assert user["externalId"] == ENTRA_CREATE["externalId"] and user["active"] is True
    found = scim.get("Users", filter=f'userName eq "{ENTRA_CREATE["userName"]}"').json()
    assert [u["id"] for u in found["Resources"]] == [user["id"]]

    response = scim.patch(
        f"Users/{user['id']}",
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )
    assert response.status_code == 200, response.content
    response = scim.patch(
        f"Users/{user['id']}", {"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"}
    )
    assert response.json()["userName"] == "5b50642d@testuser.com"
    disabled = scim.patch(f"Users/{user['id']}", {"op": "Replace", "path": "active", "value": False})
    assert disabled.json()["active"] is False

    person = User.objects.get(pk=user["id"])
    assert (person.email, person.last_name, person.username, person.is_active) == (
        "updatedEmail@microsoft.com",
        "updatedFamilyName",
        "5b50642d@testuser.com",
        False,
    )
    assert scim.delete(f"Users/{user['id']}").status_code == 204
    assert_scim_error(scim.get(f"Users/{user['id']}"), 404)


def test_entra_id_patch_quirks_are_understood(scim):
    user = created(scim, ENTRA_CREATE)

    response = scim.patch(
        f"Users/{user['id']}",
        # Capitalised op, a value object without a path whose keys are attribute paths,
        # an extension attribute Mandate does not keep, and a boolean as a string.
        {
            "op": "Add",
            "value": {
                "name.givenName": "Dana",
                "displayName": "Dana Diaz",
                f"{ENTERPRISE}:employeeNumber": "701984",
                "title": "Engineer",
            },
        },
        {"op": "Replace", "path": "active", "value": "False"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"]["givenName"] == "Dana" and body["displayName"] == "Dana Diaz" and body["active"] is False
    assert "title" not in body, "attributes Mandate does not keep are accepted and not echoed"
    again = scim.patch(f"Users/{user['id']}", {"op": "Replace", "value": {"active": "True"}})
    assert again.json()["active"] is True and User.objects.get(pk=user["id"]).is_active


def test_entra_id_adds_a_work_address_to_a_person_without_one(scim):
    user = created(scim, {**ENTRA_CREATE, "emails": []})

    response = scim.patch(
        f"Users/{user['id']}", {"op": "Add", "path": 'emails[type eq "work"].value', "value": "dana@contoso.com"}
    )

    assert response.status_code == 200, response.content
    assert User.objects.get(pk=user["id"]).email == "dana@contoso.com"


def test_entra_id_group_lifecycle(scim):
    dana, evan = (
        created(scim, ENTRA_CREATE),
        created(scim, {**ENTRA_CREATE, "externalId": "e2", "userName": "evan@testuser.com", "emails": []}),
    )
    response = scim.post(
        "Groups",
        {
            "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "displayName",
            "meta": {"resourceType": "Group"},
        },
    )
    assert response.status_code == 201, response.content
    group = response.json()["id"]
    found = scim.get("Groups", excludedAttributes="members", filter='displayName eq "displayName"').json()
    assert [g["id"] for g in found["Resources"]] == [group] and "members" not in found["Resources"][0]

    scim.patch(f"Groups/{group}", {"op": "Replace", "path": "displayName", "value": "updatedDisplayName"})
    added = scim.patch(
        f"Groups/{group}",
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": dana["id"]}, {"value": evan["id"]}]},
    )
    assert added.status_code == 200, added.content
    removed = scim.patch(
        f"Groups/{group}", {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": dana["id"]}]}
    )
    assert removed.status_code == 200, removed.content

    stored = DirectoryGroup.objects.get(pk=group)
    assert stored.display_name == "updatedDisplayName"
    assert list(stored.members.values_list("pk", flat=True)) == [int(evan["id"])]
    assert scim.get(f"Groups/{group}", excludedAttributes="members").json()["displayName"] == "updatedDisplayName"
    assert scim.delete(f"Groups/{group}").status_code == 204


def test_okta_group_push(scim):
    person = created(
        scim,
        {
            "schemas": [USER],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
    )
    listed = scim.get("Users", filter='userName eq "test.user@okta.local"', startIndex=1, count=100).json()
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == person["id"]
    group = scim.post("Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []}).json()

    scim.patch(
        f"Groups/{group['id']}",
        {"op": "replace", "value": {"id": group["id"], "displayName": "Test SCIMv2 renamed"}},
    )
    scim.patch(
        f"Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": person["id"], "display": "test.user@okta.local"}]},
    )
    assert DirectoryGroup.objects.get(pk=group["id"]).members.count() == 1
    replaced = scim.patch(f"Groups/{group['id']}", {"op": "replace", "path": "members", "value": []})
    assert replaced.status_code == 200 and replaced.json().get("members", []) == []
    assert scim.get("Groups", startIndex=1, count=100).json()["Resources"][0]["displayName"] == "Test SCIMv2 renamed"


def test_rfc_7644_patch_examples(scim):
    babs = created(
        scim,
        {
            "schemas": [USER],
            "userName": "bjensen",
            "externalId": "bjensen",
            "emails": [{"value": "bjensen@example.com", "type": "work"}],
        },
    )
    group = scim.post("Groups", {"schemas": [GROUP], "displayName": "Tour Guides"}).json()["id"]

    # §3.5.2.1: add a member with display and $ref; add attributes with no path.
    added = scim.patch(
        f"Groups/{group}",
        {
            "op": "add",
            "path": "members",
            "value": [
                {"display": "Babs Jensen", "$ref": f"http://testserver/scim/v2/Users/{babs['id']}", "value": babs["id"]}
            ],
        },
    )
    assert [m["value"] for m in added.json()["members"]] == [babs["id"]]
    response = scim.patch(
        f"Users/{babs['id']}",
        {"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickName": "Babs"}},
    )
    assert response.status_code == 200 and User.objects.get(pk=babs["id"]).email == "bjensen@example.com"
    # §3.5.2.2: remove one member by filter, then all members.
    assert (
        scim.patch(f"Groups/{group}", {"op": "remove", "path": f'members[value eq "{babs["id"]}"]'}).status_code == 200
    )
    assert scim.patch(f"Groups/{group}", {"op": "remove", "path": "members"}).status_code == 200
    # §3.5.2.3: replace a filtered multi-valued entry as a whole.
    replaced = scim.patch(
        f"Users/{babs['id']}",
        {"op": "replace", "path": 'emails[type eq "work"]', "value": {"type": "work", "value": "babs@example.com"}},
    )
    assert replaced.status_code == 200, replaced.content
    assert User.objects.get(pk=babs["id"]).email == "babs@example.com"
    # A remove whose filter matches nothing changes nothing; a replace of it is noTarget.
    unchanged = scim.patch(f"Users/{babs['id']}", {"op": "remove", "path": 'emails[type eq "other"]'})
    assert unchanged.status_code == 200 and User.objects.get(pk=babs["id"]).email == "babs@example.com"
