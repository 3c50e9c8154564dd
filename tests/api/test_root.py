"""`GET /api/v1/` is where a newcomer starts: it links every resource, the schema and docs."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_api_root_links_every_resource_the_schema_and_the_docs(client):
    response = client.get("/api/v1/")

    assert response.status_code == 200
    body = response.json()
    assert body["resources"]["workflows"] == "http://testserver/api/v1/workflows/"
    assert body["resources"]["access_requests"] == "http://testserver/api/v1/access-requests/"
    assert body["actions"]["authorize"] == "http://testserver/api/v1/authorize"
    assert body["schema"] == "http://testserver/api/schema/" and body["docs"] == "http://testserver/api/docs/"


def test_every_link_of_the_root_is_a_door_that_asks_for_credentials(client):
    body = client.get("/api/v1/").json()

    for url in body["resources"].values():
        assert client.get(url).status_code == 401, url  # there, and guarded
    assert client.get(body["schema"]).status_code == 200
