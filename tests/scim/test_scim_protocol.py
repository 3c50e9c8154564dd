"""What /scim/v2/ promises in its discovery documents, it does: filters, sorting, paging,
attribute selection, ETags, 405s; and bad input is a SCIM 400, never a 500."""

import pytest

from identities.models import User
from tests.scim.conftest import ERROR, USER, assert_scim_error, provisioned

pytestmark = pytest.mark.django_db

SCHEMAS = {
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
}


def person(scim, name, **extra):
    payload = {"schemas": [USER], "userName": name, "externalId": f"x-{name}", **extra}
    payload.setdefault("emails", [{"value": f"{name}@example.com", "type": "work", "primary": True}])
    return provisioned(scim, payload)


# --- discovery -----------------------------------------------------------------------


def test_the_service_provider_config_announces_what_is_supported(scim):
    config = scim.get("ServiceProviderConfig").json()

    supported = {name: config[name]["supported"] for name in ("patch", "bulk", "filter", "changePassword", "sort")}
    assert supported == {"patch": True, "bulk": False, "filter": True, "changePassword": False, "sort": True}
    assert config["etag"]["supported"] is True and config["filter"]["maxResults"] == 200
    assert config["meta"]["location"].endswith("/scim/v2/ServiceProviderConfig")


def test_schemas_describe_exactly_the_attributes_mandate_keeps(scim):
    listing = scim.get("Schemas").json()
    assert {s["id"] for s in listing["Resources"]} == SCHEMAS and listing["totalResults"] == 3

    user = scim.get("Schemas/urn:ietf:params:scim:schemas:core:2.0:User").json()
    names = {a["name"] for a in user["attributes"]}
    assert names == {"userName", "name", "displayName", "active", "emails", "groups"}
    groups = next(a for a in user["attributes"] if a["name"] == "groups")
    assert groups["mutability"] == "readOnly"
    assert_scim_error(scim.get("Schemas/urn:example:nothing"), 404)


def test_resource_types_are_listed_and_found_by_id(scim):
    listing = scim.get("ResourceTypes").json()
    assert {t["id"]: t["endpoint"] for t in listing["Resources"]} == {"User": "/Users", "Group": "/Groups"}

    user = scim.get("ResourceTypes/User").json()
    assert user["schemaExtensions"] == [
        {"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": False}
    ]
    assert user["meta"]["location"].endswith("/scim/v2/ResourceTypes/User")
    assert_scim_error(scim.get("ResourceTypes/Printer"), 404)


@pytest.mark.parametrize("path", ["ServiceProviderConfig", "Schemas", "ResourceTypes", "ResourceTypes/User"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_discovery_endpoints_are_read_only(scim, path, method):
    response = scim.call(method, path, {"schemas": []})

    assert_scim_error(response, 405)
    assert response["Allow"] == "GET"


def test_unknown_paths_and_methods_are_scim_errors(scim):
    assert_scim_error(scim.get("Printers"), 404)
    assert_scim_error(scim.call("put", "Users", {}), 405)
    assert_scim_error(scim.call("post", ".search", {}), 501)


# --- people without an e-mail address ----------------------------------------------


def test_people_without_an_email_address_are_created_active_without_one(scim, admin_client):
    first = person(scim, "kiosk-1", emails=[])
    second = person(scim, "kiosk-2")
    del second  # a second person, with an address, and a third without one
    third = provisioned(scim, {"schemas": [USER], "userName": "kiosk-3"})

    for created in (first, third):
        assert created["active"] is True and "emails" not in created
        assert User.objects.get(pk=created["id"]).email == ""
    missing = admin_client.get("/admin/identities/user/", {"email": "missing"})
    assert missing.status_code == 200
    assert "kiosk-1" in missing.text and "kiosk-3" in missing.text and "kiosk-2" not in missing.text


# --- lists: filters, sorting, paging, attributes -----------------------------------------


def test_filters_combine_operators_and_value_paths(scim):
    ann = person(scim, "ann", displayName="Ann Archer")
    bob = person(scim, "bob", displayName="Bob Baker")
    person(scim, "cyd", active=False)

    def ids(expression):
        response = scim.get("Users", filter=expression)
        assert response.status_code == 200, response.content
        return [u["id"] for u in response.json()["Resources"]]

    assert ids('userName sw "a" or userName eq "BOB"') == [ann["id"], bob["id"]]
    assert ids('displayName co "Bak" and active eq true') == [bob["id"]]
    assert ids('emails[type eq "work" and value ew "@example.com"] and not (userName eq "cyd")') == [
        ann["id"],
        bob["id"],
    ]
    assert ids("displayName pr") == [ann["id"], bob["id"]]
    assert ids('meta.created gt "2000-01-01T00:00:00Z" and userName ne "ann"') == [
        bob["id"],
        ids('userName eq "cyd"')[0],
    ]
    assert ids(f'id eq "{ann["id"]}"') == [ann["id"]] and ids('id eq "nope"') == []
    assert_scim_error(scim.get("Users", filter='nickName eq "x"'), 400, "invalidFilter")
    assert_scim_error(scim.get("Users", filter='userName eq "x" and'), 400, "invalidFilter")
    assert_scim_error(scim.get("Users", filter="active gt true"), 400, "invalidFilter")
    assert_scim_error(scim.get("Users", filter='userName eq "a\x00b"'), 400, "invalidValue")
    assert ids('userName eq "' + "x" * 5000 + '"') == []


def test_sorting_and_paging_are_as_announced(scim):
    for name in ("carol", "alice", "bob"):
        person(scim, name)

    descending = scim.get("Users", sortBy="userName", sortOrder="descending").json()
    assert [u["userName"] for u in descending["Resources"]] == ["carol", "bob", "alice"]
    page = scim.get("Users", sortBy="userName", startIndex=2, count=1).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 1)
    assert page["Resources"][0]["userName"] == "bob"
    assert scim.get("Users", count=0).json()["Resources"] == []
    assert scim.get("Users", startIndex=10).json()["Resources"] == []
    assert scim.get("Users", startIndex=10**20).json()["Resources"] == []
    assert_scim_error(scim.get("Users", sortBy="nickName"), 400)


def test_attributes_and_excluded_attributes_shape_the_answer(scim):
    person(scim, "ann", displayName="Ann Archer")

    only = scim.get("Users", attributes="userName").json()["Resources"][0]
    assert set(only) == {"schemas", "id", "userName"}
    without = scim.get("Users", excludedAttributes="emails,displayName").json()["Resources"][0]
    assert "emails" not in without and "displayName" not in without and without["userName"] == "ann"
    one = scim.get(f"Users/{only['id']}", attributes="name.givenName,active").json()
    assert set(one) == {"schemas", "id", "active"}


def test_post_search_takes_the_query_in_the_body(scim):
    ann = person(scim, "ann")
    person(scim, "bob")

    response = scim.post(
        "Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "ann"',
            "attributes": ["userName"],
        },
    )

    assert response.status_code == 200, response.content
    assert response.json()["Resources"] == [{"schemas": [USER], "id": ann["id"], "userName": "ann"}]


# --- ETags (RFC 7644 §3.14) ------------------------------------------------------------


def test_etags_answer_conditional_requests(scim):
    ann = person(scim, "ann")
    read = scim.get(f"Users/{ann['id']}")
    etag = read["ETag"]
    assert etag.startswith('W/"') and read.json()["meta"]["version"] == etag

    assert scim.client.get(f"/scim/v2/Users/{ann['id']}", HTTP_IF_NONE_MATCH=etag, **scim.headers).status_code == 304
    changed = scim.patch(f"Users/{ann['id']}", {"op": "replace", "path": "displayName", "value": "Ann"})
    assert changed["ETag"] != etag

    stale = scim.client.patch(
        f"/scim/v2/Users/{ann['id']}",
        data='{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], '
        '"Operations": [{"op": "replace", "path": "displayName", "value": "Stale"}]}',
        content_type="application/scim+json",
        HTTP_IF_MATCH=etag,
        **scim.headers,
    )
    assert_scim_error(stale, 412)
    assert User.objects.get(pk=ann["id"]).display_name == "Ann"
    fresh = scim.client.delete(f"/scim/v2/Users/{ann['id']}", HTTP_IF_MATCH=changed["ETag"], **scim.headers)
    assert fresh.status_code == 204


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"userName": "nul\x00byte"},
        {"userName": "n" * 151},
        {"userName": "ann", "name": {"givenName": "g" * 151}},
        {"userName": "ann", "externalId": "e" * 256},
        {"userName": "ann", "emails": [{"value": "not an address"}]},
        {"userName": "ann", "emails": [{"value": 42}]},
        {"userName": ["ann"]},
        {"userName": "ann", "active": "maybe"},
    ],
)
def test_bad_users_are_refused_with_a_scim_400(scim, payload):
    assert_scim_error(scim.post("Users", {"schemas": [USER], **payload}), 400, "invalidValue")
    assert not User.objects.filter(username="ann").exists()


def test_bad_groups_are_refused_with_a_scim_400(scim):
    assert_scim_error(scim.post("Groups", {"displayName": "g" * 256}), 400, "invalidValue")
    assert_scim_error(scim.post("Groups", {"displayName": "a\x00b"}), 400, "invalidValue")


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": "replace"},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove"}]},
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"path": "active"}]},
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": 'emails[type eq "work"', "value": "a@b.c"}],
        },
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "userName", "value": {"nested": True}}],
        },
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [None]},
        {"Operations": [{"op": "replace", "path": "active", "value": False}]},
    ],
)
def test_malformed_patches_are_refused_with_a_scim_400(scim, body):
    ann = person(scim, "ann")

    response = scim.call("patch", f"Users/{ann['id']}", body)

    assert response.status_code == 400, response.content
    assert response.json()["schemas"] == [ERROR] and response.json()["scimType"]
    assert User.objects.get(pk=ann["id"]).is_active


def test_removing_active_is_refused(scim):
    ann = person(scim, "ann")

    assert_scim_error(scim.patch(f"Users/{ann['id']}", {"op": "remove", "path": "active"}), 400, "mutability")
