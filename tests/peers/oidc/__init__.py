"""A real OpenID provider (npm `oidc-provider`, see server.mjs) for the sign-in tests.

The session fixture `oidc_provider` installs the node packages when they are missing
(`npm ci`), starts the provider on 127.0.0.1 (port MANDATE_TEST_OIDC_PORT, default 8112)
with the clients and people below, and stops it at the end.
"""

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import require_service

HERE = Path(__file__).resolve().parent
CLIENT_ID = "mandate-tests"
CLIENT_SECRET = "mandate-tests-client-secret"
REDIRECT_URI = "http://testserver/oidc/callback/"

# Subject -> password and claims. Subjects are opaque, as real providers make them.
ACCOUNTS = {
    "00u1alice": {
        "password": "alice-pass",
        "claims": {
            "email": "alice@example.test",
            "email_verified": True,
            "name": "Alice Anders",
            "given_name": "Alice",
            "family_name": "Anders",
            "preferred_username": "alice",
        },
    },
    "00u2bob": {
        "password": "bob-pass",
        "claims": {
            "email": "bob@example.test",
            "email_verified": False,
            "name": "Bob Berg",
            "given_name": "Bob",
            "family_name": "Berg",
            "preferred_username": "bob",
        },
    },
}


@dataclass
class Provider:
    issuer: str
    metadata: dict
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


def _install():
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return True
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode == 0


def _wait_until_ready(issuer, process, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).json()
        except requests.RequestException:
            time.sleep(0.2)
    return None


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """The running provider: issuer and its discovery document."""
    require_service(bool(shutil.which("node") and shutil.which("npm")), "Node.js and npm (OpenID provider)")
    require_service(_install(), "the oidc-provider npm package (npm ci in tests/peers/oidc)")
    port = int(os.environ.get("MANDATE_TEST_OIDC_PORT", "8112"))
    issuer = f"http://127.0.0.1:{port}"
    home = tmp_path_factory.mktemp("oidc")
    config = {
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
        ],
        "accounts": ACCOUNTS,
    }
    (home / "config.json").write_text(json.dumps(config))
    log = (home / "provider.log").open("w")
    env = {**os.environ, "MANDATE_OIDC_CONFIG": str(home / "config.json"), "MANDATE_OIDC_PORT": str(port)}
    process = subprocess.Popen(["node", str(HERE / "server.mjs")], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        metadata = _wait_until_ready(issuer, process)
        if metadata is None:
            require_service(False, f"the OpenID provider on {issuer} (log: {home / 'provider.log'})")
        yield Provider(issuer=issuer, metadata=metadata)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
