"""An independent RFC 7643 / 7644 compliance suite (scim2-tester) runs against /scim/v2/.

It discovers the service from /ServiceProviderConfig, /ResourceTypes and /Schemas, then
creates, reads, lists, filters, replaces, patches (add, replace and remove of every
attribute the schemas publish) and deletes Users and Groups, and checks 405s and 404s.
"""

import pytest
from django.core.wsgi import get_wsgi_application
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

from identities.services import issue_provisioning_token
from tests import factories

pytestmark = pytest.mark.django_db

# Where Mandate departs from the suite's expectations on purpose:
# - it keeps one e-mail address per person and always presents it as the primary work
#   address, so a PATCH sending `"primary": false` reads back `true`;
# - a person is active or not: removing `active` is refused (400 mutability).
ACCEPTED_DEVIATIONS = {
    ("check_add_attribute", "emails"),
    ("check_replace_attribute", "emails"),
    ("check_remove_attribute", "active"),
}


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, without closing the test's database connection per request."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_compliance_suite_passes_every_check(wsgi_app):
    source = factories.IdentitySourceFactory(slug="idp", name="IdP", kind="scim")
    _token, plaintext = issue_provisioning_token(source, name="compliance")
    client = WSGISCIMClient(
        wsgi_app, base_url="http://testserver/scim/v2", headers={"Authorization": f"Bearer {plaintext}"}
    )

    results = check_server(client)

    def key(result):
        return result.title, (result.data or {}).get("urn") if isinstance(result.data, dict) else None

    failed = [(r.title, r.reason) for r in results if r.status == Status.ERROR and key(r) not in ACCEPTED_DEVIATIONS]
    crashed = [r.title for r in results if r.status == Status.CRITICAL]
    passed = [r for r in results if r.status == Status.SUCCESS]
    skipped = {r.reason for r in results if r.status == Status.SKIPPED}
    assert not failed and not crashed, failed + crashed
    assert len(passed) >= 69, len(passed)
    # The one thing not offered: one search across all resource types (POST /.search answers 501).
    assert skipped <= {"POST /.search: searching several resource types at once is not supported by the server"}
