"""A real OpenLDAP server (Debian slapd, see slapd.sh) for the directory sync tests.

`ldap_server` (session) installs slapd when it is missing and the machine allows it,
builds an instance in a temporary directory and starts it on 127.0.0.1 (port
MANDATE_TEST_LDAP_PORT, default 3389). `directory` (per test) empties the tree, seeds the
two organisational units, points the sync settings at it and hands the test an admin
connection to add, change and remove people with.
"""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest

from tests.conftest import require_service

HERE = Path(__file__).resolve().parent
SLAPD = Path("/usr/sbin/slapd")
BASE_DN = "dc=mandate,dc=test"
PEOPLE = f"ou=people,{BASE_DN}"
GROUPS = f"ou=groups,{BASE_DN}"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "directory-admin-pass"


@dataclass
class LdapServer:
    url: str
    home: Path


def _script(*args, timeout=120):
    return subprocess.run([str(HERE / "slapd.sh"), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def ldap_server(tmp_path_factory):
    if not SLAPD.exists() and os.geteuid() == 0:
        _script("install", timeout=600)
    require_service(SLAPD.exists(), "OpenLDAP slapd (tests/peers/ldap/slapd.sh install)")
    port = int(os.environ.get("MANDATE_TEST_LDAP_PORT", "3389"))
    home = tmp_path_factory.mktemp("slapd")
    started = _script("start", str(home), str(port), BASE_DN, ADMIN_PASSWORD)
    require_service(started.returncode == 0, f"slapd on 127.0.0.1:{port} ({started.stderr.strip()[-300:]})")
    try:
        yield LdapServer(url=f"ldap://127.0.0.1:{port}", home=home)
    finally:
        _script("stop", str(home))


class Directory:
    """An admin connection with the few writes the tests need."""

    def __init__(self, connection):
        self.connection = connection

    def _check(self, ok):
        assert ok, self.connection.result

    def add_person(self, uid, name, email, *, manager=None, **extra):
        given, family = name.split(" ", 1)
        attributes = {"uid": uid, "cn": name, "givenName": given, "sn": family, "mail": email, **extra}
        if manager:
            attributes["manager"] = self.person_dn(manager)
        self._check(self.connection.add(self.person_dn(uid), ["inetOrgPerson"], attributes))

    def add_group(self, cn, members):
        self._check(
            self.connection.add(
                f"cn={cn},{GROUPS}", ["groupOfNames"], {"cn": cn, "member": [self.person_dn(m) for m in members]}
            )
        )

    def change(self, uid, **attributes):
        changes = {name: [(ldap3.MODIFY_REPLACE, [value] if value else [])] for name, value in attributes.items()}
        self._check(self.connection.modify(self.person_dn(uid), changes))

    def remove(self, uid):
        self._check(self.connection.delete(self.person_dn(uid)))

    def rename(self, uid, new_uid):
        self._check(self.connection.modify_dn(self.person_dn(uid), f"uid={new_uid}"))

    @staticmethod
    def person_dn(uid):
        return f"uid={uid},{PEOPLE}"


def _empty_tree(connection):
    connection.search(BASE_DN, "(objectClass=*)", search_scope=ldap3.SUBTREE, attributes=[])
    # Children before parents: the longest DNs first.
    for dn in sorted((entry.entry_dn for entry in connection.entries), key=len, reverse=True):
        connection.delete(dn)
    connection.add(BASE_DN, ["dcObject", "organization"], {"dc": "mandate", "o": "Mandate tests"})
    connection.add(PEOPLE, ["organizationalUnit"], {"ou": "people"})
    connection.add(GROUPS, ["organizationalUnit"], {"ou": "groups"})


@pytest.fixture
def directory(ldap_server, settings):
    connection = ldap3.Connection(ldap_server.url, user=ADMIN_DN, password=ADMIN_PASSWORD, auto_bind=True)
    _empty_tree(connection)
    settings.LDAP_SYNC_URL = ldap_server.url
    settings.LDAP_SYNC_ENABLED = True
    settings.LDAP_SYNC_START_TLS = False
    settings.LDAP_SYNC_BIND_DN = ADMIN_DN
    settings.LDAP_SYNC_BIND_PASSWORD = ADMIN_PASSWORD
    settings.LDAP_SYNC_BASE_DN = PEOPLE
    settings.LDAP_SYNC_FILTER = "(objectClass=inetOrgPerson)"
    settings.LDAP_SYNC_SOURCE = "corporate-directory"
    settings.LDAP_SYNC_MAX_DEACTIVATIONS = 25
    try:
        yield Directory(connection)
    finally:
        connection.unbind()
