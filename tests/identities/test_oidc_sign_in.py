"""People sign in through a real OpenID provider; they are matched by subject, never by e-mail."""

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.contrib.messages import get_messages

from identities.models import User
from identities.services import deactivate_person
from tests import factories
from tests.peers.oidc import REDIRECT_URI

pytestmark = [pytest.mark.django_db, pytest.mark.oidc]


@pytest.fixture
def sso(settings, oidc_provider):
    metadata = oidc_provider.metadata
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = oidc_provider.client_id
    settings.OIDC_RP_CLIENT_SECRET = oidc_provider.client_secret
    settings.OIDC_OP_ISSUER = metadata["issuer"]
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = metadata["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = metadata["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = metadata["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = metadata["jwks_uri"]
    settings.OIDC_IDENTITY_SOURCE = "corporate-sso"
    settings.OIDC_LINK_BY_EMAIL = False
    settings.OIDC_CREATE_USER = True
    return oidc_provider


def sign_in(client, login, password, next_url="/healthz"):
    """Walk the authorization-code flow: Mandate -> provider's form -> Mandate's callback."""
    start = client.get("/oidc/authenticate/", {"next": next_url})
    assert start.status_code == 302
    authorize = start["Location"]
    assert "code_challenge=" in authorize and "nonce=" in authorize
    browser = requests.Session()
    response = browser.get(authorize, allow_redirects=False, timeout=10)
    form_url = urljoin(authorize, response.headers["Location"])
    assert "password" in browser.get(form_url, timeout=10).text
    response = browser.post(
        f"{form_url}/login", data={"login": login, "password": password}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 303, response.text
    location = urljoin(form_url, response.headers["Location"])
    for _ in range(10):
        if location.startswith(REDIRECT_URI):
            break
        response = browser.get(location, allow_redirects=False, timeout=10)
        location = urljoin(location, response.headers["Location"])
    callback = urlsplit(location)
    assert callback.path == "/oidc/callback/"
    params = {key: values[0] for key, values in parse_qs(callback.query).items()}
    assert "code" in params, location
    return client.get(callback.path, params)


def messages_of(response):
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def signed_in_user(client):
    """Who the next request is authenticated as (None when anonymous)."""
    user = client.get("/admin/login/").wsgi_request.user
    return user if user.is_authenticated else None


def test_first_sign_in_creates_the_person_in_the_sso_source(client, sso):
    response = sign_in(client, "00u1alice", "alice-pass", next_url="/healthz")

    assert response.status_code == 302 and response["Location"] == "/healthz"
    alice = signed_in_user(client)
    assert alice.external_id == "00u1alice"
    assert alice.identity_source.slug == "corporate-sso" and alice.identity_source.kind == "oidc"
    assert (alice.username, alice.email, alice.display_name) == ("alice", "alice@example.test", "Alice Anders")
    assert not alice.has_usable_password()


def test_a_returning_person_is_matched_by_subject_even_after_renames(client, sso):
    source = factories.IdentitySourceFactory(slug="corporate-sso", kind="oidc")
    known = factories.UserFactory(
        username="a.anders", email="old-alice@example.test", identity_source=source, external_id="00u1alice"
    )

    sign_in(client, "00u1alice", "alice-pass")

    assert signed_in_user(client) == known
    known.refresh_from_db()
    assert known.email == "alice@example.test", "the provider's profile is applied"
    assert User.objects.filter(external_id="00u1alice").count() == 1


def test_a_local_account_with_the_same_email_is_not_taken_over(client, sso, identity_source):
    local = factories.UserFactory(username="alice", email="alice@example.test", identity_source=identity_source)

    response = sign_in(client, "00u1alice", "alice-pass")

    assert response.status_code == 302
    assert signed_in_user(client) is None
    assert not User.objects.filter(external_id="00u1alice").exists()
    local.refresh_from_db()
    assert local.external_id == "" and local.identity_source == identity_source
    assert "belongs to an account that is not linked" in messages_of(response)


def test_linking_by_verified_email_when_the_setting_allows_it(client, sso, settings, identity_source):
    settings.OIDC_LINK_BY_EMAIL = True
    local = factories.UserFactory(username="alice", email="alice@example.test", identity_source=identity_source)

    sign_in(client, "00u1alice", "alice-pass")

    assert signed_in_user(client) == local
    local.refresh_from_db()
    assert (local.identity_source.slug, local.external_id) == ("corporate-sso", "00u1alice")


def test_an_unverified_email_never_links_even_when_allowed(client, sso, settings, identity_source):
    settings.OIDC_LINK_BY_EMAIL = True
    factories.UserFactory(username="bob", email="bob@example.test", identity_source=identity_source)

    sign_in(client, "00u2bob", "bob-pass")

    assert signed_in_user(client) is None
    assert not User.objects.filter(external_id="00u2bob").exists()


def test_a_deactivated_person_loses_the_session_and_cannot_sign_in_again(client, sso):
    sign_in(client, "00u1alice", "alice-pass")
    alice = signed_in_user(client)
    assert alice is not None

    deactivate_person(alice, reason="Left the company")

    assert signed_in_user(client) is None
    response = sign_in(client, "00u1alice", "alice-pass")
    assert signed_in_user(client) is None
    assert "deactivated" in messages_of(response)


def test_no_account_is_created_when_creation_is_off(client, sso, settings):
    settings.OIDC_CREATE_USER = False

    sign_in(client, "00u1alice", "alice-pass")

    assert signed_in_user(client) is None
    assert not User.objects.filter(email="alice@example.test").exists()


def test_an_id_token_from_another_issuer_is_refused(client, sso, settings):
    settings.OIDC_OP_ISSUER = "https://login.example.test"

    sign_in(client, "00u1alice", "alice-pass")

    assert signed_in_user(client) is None
    assert not User.objects.filter(external_id="00u1alice").exists()


def test_sign_in_urls_are_off_until_configured(client, settings, rf):
    settings.OIDC_ENABLED = False
    from identities.context_processors import sign_in as sign_in_context

    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "x", "state": "y"}).status_code == 404
    assert sign_in_context(rf.get("/")) == {"sso_enabled": False}


def test_the_login_page_context_offers_the_sso_button_when_configured(sso, rf):
    from identities.context_processors import sign_in as sign_in_context

    context = sign_in_context(rf.get("/"))
    assert context == {
        "sso_enabled": True,
        "sso_login_url": "/oidc/authenticate/",
        "sso_login_label": "Sign in with SSO",
    }
