"""People sign in with a local account or, when configured, single sign-on; pages need a session."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PORTAL_PAGES = [
    reverse("governance:dashboard"),
    reverse("governance:workflow_list"),
    reverse("approvals:inbox"),
    reverse("approvals:grant_list"),
    reverse("approvals:request_create"),
    reverse("identities:workload_list"),
]


@pytest.mark.parametrize("url", PORTAL_PAGES)
def test_every_portal_page_sends_strangers_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_person_signs_in_with_their_password_and_lands_on_the_dashboard(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"Good to see you, Owner" in response.content


def test_a_wrong_password_says_so_without_signing_in(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert b"Not signed in" in response.content
    assert "_auth_user_id" not in client.session


def test_the_sso_button_appears_only_when_single_sign_on_is_configured(client, settings):
    settings.OIDC_RP_CLIENT_ID = ""
    assert b"Sign in with SSO" not in client.get(reverse("login")).content
    settings.OIDC_RP_CLIENT_ID = "mandate-portal"
    page = client.get(reverse("login") + "?next=/workflows/").content.decode()
    assert 'href="/oidc/authenticate/?next=/workflows/"' in page


def test_signing_out_is_a_post_with_csrf(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 403  # no CSRF token
    page = client.get(reverse("governance:dashboard")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(reverse("logout"), {"csrfmiddlewaretoken": token}, follow=True)
    assert b"You have signed out." in response.content
    assert "_auth_user_id" not in client.session


def test_assets_are_vendored_and_no_page_loads_anything_from_another_host(as_owner):
    assert (Path(settings.BASE_DIR) / "static/vendor/htmx/htmx.min.js").stat().st_size > 10_000
    page = as_owner.get(reverse("governance:dashboard")).content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/static/vendor/htmx/htmx.min.js" in sources
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
