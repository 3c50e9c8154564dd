"""Fixtures of the registry tests: the security team and a hand-written registry file."""

import pytest

from tests import factories
from tests.registry.files import FILE


@pytest.fixture
def security(db, identity_source):
    """The security team member who applies the files."""
    return factories.UserFactory(username="sec", identity_source=identity_source, is_superuser=True, is_staff=True)


@pytest.fixture
def second(db, identity_source):
    """Another member of the security team: the second pair of eyes."""
    return factories.UserFactory(username="sec2", identity_source=identity_source, is_superuser=True, is_staff=True)


@pytest.fixture
def text(identity_source, owner, backup_owner):
    return FILE.format(source=identity_source.slug)
