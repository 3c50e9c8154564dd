"""The owners' flows in a real browser: Debian's Chromium driven by Playwright against a live server.

Each finished flow leaves a screenshot in test-artifacts/.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.utils import timezone

from approvals.models import Grant
from governance.reviews.services import open_campaign
from tests import factories
from tests.conftest import require_service
from tests.factories import PASSWORD
from tests.reviews.helpers import DAY, long_policy, workload_grant

from .conftest import ask

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    require_service(Path(CHROMIUM).exists() or shutil.which("chromium") is not None, "Debian chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread for as long as the browser
    # lives; the tests (and the database flush after each) still use the ORM synchronously
    # between browser steps, which is safe: nothing else runs on that loop.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    # The Content-Security-Policy must not block anything the portal does (htmx included).
    blocked = []
    page.on("console", lambda message: "Content Security Policy" in message.text and blocked.append(message.text))
    yield page
    context.close()
    assert blocked == []


def sign_in(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_owner_approves_an_agents_write_request_and_the_grant_is_active(page, owner, agent_write_request):
    sign_in(page, "owner")
    assert "1" in page.locator(".stat").first.inner_text()
    page.get_by_role("link", name="github:repo:write").first.click()
    assert "on behalf of Requester" in page.locator("#request-body").inner_text()
    page.get_by_label("Comment").fill("Scoped to PLAT-1, one hour.")
    page.get_by_role("button", name="Approve").click()
    page.locator("#grant-status").wait_for()
    assert page.locator("#request-state").inner_text() == "Approved"
    assert page.locator("#grant-status").inner_text() == "Active"
    assert "Approved: the grant is active." in page.locator("#request-body .alert").inner_text()
    screenshot(page, "owner-approves-agent-write-request")
    assert Grant.objects.get(request=agent_write_request).status == "active"


def test_a_requester_cannot_approve_their_own_request_and_sees_why(page, backup_owner, write_policy):
    sign_in(page, "backup")
    page.get_by_role("link", name="Request access").first.click()
    page.get_by_label("Access").select_option(label="github:repo:write — Push branches")
    page.get_by_label("For how long").select_option(label="1 h")
    page.get_by_label("Task reference").fill("PLAT-77")
    page.get_by_label("Justification").fill("Hotfix for the release branch")
    page.get_by_role("button", name="Submit request").click()
    page.locator("#why-not").wait_for()
    assert "Sent for approval" in page.locator(".messages").inner_text()
    why = page.locator("#why-not").inner_text()
    assert "You cannot decide this request." in why
    assert "separation of duties" in why
    assert page.get_by_role("button", name="Approve").count() == 0
    assert "1 more needed from Owner" in page.locator("#request-body").inner_text()
    screenshot(page, "requester-cannot-approve-own-request")


def test_an_owner_revokes_a_grant(page, owner, agent_read_grant):
    sign_in(page, "owner")
    page.get_by_role("link", name="Grants", exact=True).click()
    row = page.locator(f"#grant-{agent_read_grant.pk}")
    row.get_by_text("Revoke…").click()
    row.get_by_label("Reason for revoking").fill("Task finished early")
    row.get_by_role("button", name=f"Revoke grant #{agent_read_grant.pk} now").click()
    page.locator(f"#grant-{agent_read_grant.pk} .badge-bad").wait_for()
    assert "Revoked" in page.locator(f"#grant-{agent_read_grant.pk}").inner_text()
    screenshot(page, "owner-revokes-grant")
    agent_read_grant.refresh_from_db()
    assert agent_read_grant.status == "revoked" and agent_read_grant.end_reason == "Task finished early"


def test_an_owner_issues_a_key_and_suspends_a_misbehaving_agent(page, owner, agent, read_policy, requester):
    grant = ask(read_policy, agent=agent, for_whom=requester).grant
    sign_in(page, "owner")
    page.goto(agent.get_absolute_url())
    page.get_by_role("button", name="Issue a new key").click()
    key = page.get_by_role("textbox", name="New API key").input_value()
    assert key.startswith("mdt_")
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("link", name=f"Suspend {agent}…").click()
    assert "1 active grant will be revoked" in page.locator("main").inner_text()
    page.get_by_label("Reason").fill("Pushed to main without review")
    page.get_by_role("button", name=f"Suspend {agent}").click()
    assert "is suspended" in page.locator(".messages").inner_text()
    screenshot(page, "owner-suspends-workload")
    grant.refresh_from_db()
    assert grant.status == "revoked"


@pytest.fixture
def open_review(workflow, requester):
    """An open access review of the workflow: the agent's grant, the agent itself, the
    auto-approving policy and the control-owner assignment. The agent is an engineer's,
    so the owners may certify it (nobody certifies their own access)."""
    agent = factories.WorkloadIdentityFactory(workflow=workflow, owner=requester)
    grant = workload_grant(long_policy(workflow), agent, requester)
    workflow.next_review_due = timezone.now() + 5 * DAY
    workflow.save(update_fields=["next_review_due"])
    campaign = open_campaign(workflow)
    return campaign, grant


def test_an_owner_certifies_one_review_item_and_revokes_another(page, owner, open_review):
    campaign, grant = open_review
    workload_item = campaign.items.get(kind="workload")
    grant_item = campaign.items.get(kind="grant")
    sign_in(page, "owner")
    page.get_by_role("link", name="Reviews", exact=True).click()
    page.get_by_role("link", name=str(campaign.workflow)).click()
    assert page.get_by_test_id("progress").inner_text() == "0 of 4 decided"
    page.evaluate("window.stillTheSamePage = true")

    row = page.locator(f"#item-{workload_item.pk}")
    row.get_by_role("button", name=f"Certify {workload_item.label}").click()
    page.locator(f"#item-{workload_item.pk} .alert-success").wait_for()
    assert "Certified (keep)" in page.locator(f"#item-{workload_item.pk}").inner_text()

    row = page.locator(f"#item-{grant_item.pk}")
    row.get_by_text("Revoke…").click()
    row.get_by_label("Why revoke?").fill("The support run is over.")
    row.get_by_role("button", name="Revoke now").click()
    page.locator(f"#item-{grant_item.pk} .alert-success").wait_for()
    decided = page.locator(f"#item-{grant_item.pk}").inner_text()
    assert "Revoked" in decided and "The support run is over." in decided
    assert page.get_by_test_id("progress").inner_text() == "2 of 4 decided"
    assert page.evaluate("window.stillTheSamePage") is True  # decided in place, no reload
    screenshot(page, "owner-certifies-and-revokes-review-items")

    page.locator(f"#item-{grant_item.pk}").get_by_role("link", name=f"grant #{grant.pk}").click()
    assert "Revoked" in page.locator("main").inner_text()
    grant.refresh_from_db()
    assert grant.status == "revoked"


def test_an_owner_certifies_the_rest_in_bulk_and_the_review_completes(page, backup_owner, open_review):
    # The backup owner, who may also certify the control owner's assignment.
    campaign, _ = open_review
    sign_in(page, "backup")
    page.goto(campaign.get_absolute_url())
    page.get_by_label("Select all 4 items awaiting a decision").check()
    page.get_by_label("Comment for the selected items").fill("All still needed this quarter.")
    page.get_by_role("button", name="Certify selected").click()
    page.get_by_text("4 items certified.").wait_for()
    assert page.locator("#campaign-state").inner_text() == "Completed"
    assert page.get_by_role("button", name="Certify selected").count() == 0
    screenshot(page, "owner-completes-review-in-bulk")
    campaign.refresh_from_db()
    assert campaign.status == "completed" and campaign.closed_by == backup_owner
