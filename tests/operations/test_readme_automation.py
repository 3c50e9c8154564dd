"""Every curl example of the README's "Automate it" section runs, in order, against a live
server holding the demo data, and prints what the README says it prints."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from identities.models import User
from identities.services import issue_api_key
from tests.conftest import require_service

README = Path(__file__).resolve().parents[2] / "README.md"


def automate_it_blocks():
    text = README.read_text()
    section = text.split("## Automate it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def test_the_section_has_the_whole_agent_flow():
    curl_blocks = [b for b in automate_it_blocks() if "curl " in b]
    paths = [re.search(r'"\$MANDATE(/[^"]*)"', b).group(1) for b in curl_blocks]
    assert paths == [
        "/api/v1/api-keys/",
        "/api/v1/access-requests/",
        "/api/v1/authorize",
        "/api/v1/access-requests/",
        "/api/v1/access-requests/$REQUEST_ID/approve/",
        "/api/v1/authorize",
        "/api/v1/evidence/",
        "/api/v1/tasks/complete",
        "/api/v1/authorize",
    ]


@pytest.mark.django_db(transaction=True)
def test_every_curl_example_runs_against_a_live_server(live_server, settings):
    require_service(bool(shutil.which("curl") and shutil.which("jq")), "curl and jq")
    settings.DEMO_MODE = True
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    call_command("load_demo", quiet=True)
    env = {
        **os.environ,
        "MANDATE": live_server.url,
        # The README's first block makes these with manage.py; here the test issues them.
        "FIONA_TOKEN": issue_api_key(user=User.objects.get(username="fiona"))[1],
        "BRUNO_TOKEN": issue_api_key(user=User.objects.get(username="bruno"))[1],
    }
    curl_blocks = [b for b in automate_it_blocks() if "curl " in b]
    # One shell, so the variables a block sets (AGENT_KEY, REQUEST_ID) reach the next ones.
    script = "set -euo pipefail\n" + "".join(f"{block}\necho '--- end of block'\n" for block in curl_blocks)
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    outputs = [json.loads(out) if out.strip() else None for out in run.stdout.split("--- end of block\n")[:-1]]
    key, read, allowed, write, approved, allowed_write, reported, completed, denied = outputs
    assert key is None  # the key went into AGENT_KEY, not onto the screen
    assert read["state"] == "active" and read["reasons"] and read["expires_at"]
    assert allowed["allow"] is True
    assert write == {"state": "pending", "approvers": ["bruno"]}
    assert approved["state"] == "active" and approved["expires_at"]
    assert allowed_write == {"allow": True}
    assert reported == {"workflow": "incident-enrichment", "recorded": 2}
    assert completed == {"workflow": "incident-enrichment", "task_ref": "INC-4711", "revoked_grants": 2}
    assert denied["allow"] is False and "revoked" in denied["reasons"][0]
