"""The README stays a front page whose documentation links all resolve, and every curl
example of the API guide's agent flow runs, in order, against a live server holding the
demo data, and prints what the guide says it prints."""

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

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
API_GUIDE = ROOT / "docs" / "api.md"


def agent_flow_blocks():
    text = API_GUIDE.read_text()
    section = text.split("## The agent flow, step by step", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def anchors(markdown):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_the_readme_is_a_front_page_with_the_two_commands():
    text = README.read_text()
    assert len(text.splitlines()) < 120
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \w+)", re.search(r"```sh\n(.*?)```", quick_start, flags=re.S).group(1), re.M)
    assert commands == ["make run", "make test"]
    assert "MANDATE=http://127.0.0.1:8001" in quick_start  # how to point the examples at another port


def test_every_documentation_link_resolves():
    for page in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(((?:docs/)?[\w\-/]+\.md(?:#[\w\-]+)?)\)", page.read_text()):
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve()
            assert linked.is_file(), f"{page.name} links to missing {target}"
            if anchor:
                assert anchor in anchors(linked.read_text()), f"{page.name} links to missing anchor {target}"


def test_every_documentation_page_is_reachable_from_the_readme():
    pages = {p.name: p.read_text() for p in (ROOT / "docs").glob("*.md")}
    reachable, todo = set(), [README.read_text()]
    while todo:
        for name in re.findall(r"\]\((?:docs/)?([\w\-]+\.md)", todo.pop()):
            if name in pages and name not in reachable:
                reachable.add(name)
                todo.append(pages[name])
    assert reachable == set(pages)


def test_the_guide_has_the_whole_agent_flow():
    curl_blocks = [b for b in agent_flow_blocks() if "curl " in b]
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
        # The guide's first block makes these with manage.py; here the test issues them.
        "FIONA_TOKEN": issue_api_key(user=User.objects.get(username="fiona"))[1],
        "BRUNO_TOKEN": issue_api_key(user=User.objects.get(username="bruno"))[1],
    }
    curl_blocks = [b for b in agent_flow_blocks() if "curl " in b]
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
