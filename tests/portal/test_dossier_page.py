"""The dossier page in a real browser: the six answers, filtering the timeline, paging on."""

import pytest

from tests.evidence.helpers import record_events

from .conftest import ask
from .test_browser_flows import browser, page, screenshot, sign_in  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_owner_reads_the_dossier_filters_the_timeline_and_pages_on(
    page,  # noqa: F811
    owner,
    requester,
    workflow,
    agent,
    read_policy,
):
    ask(read_policy, agent=agent, for_whom=requester, task_ref="PLAT-9", justification="Nightly dependency audit.")
    record_events(workflow, 4, workload=agent, kind="tool_call", task_ref="PLAT-9")
    record_events(workflow, 3, workload=agent, kind="data_access", task_ref="PLAT-9")
    sign_in(page, "owner")
    page.goto(f"/workloads/{agent.slug}/")
    for heading in (
        "Who it is, who owns it",
        "What it can do now",
        "What it may ask for",
        "Why: recent requests",
        "What it did",
        "How to stop it",
    ):
        assert page.get_by_role("heading", name=heading).is_visible(), heading
    assert "Nightly dependency audit." in page.locator("#dossier-grants").inner_text()
    assert "github:repo:read" in page.locator("#dossier-entitlements").inner_text()

    page.get_by_label("Kind").select_option(label="Data access")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**kind=data_access**")
    rows = page.locator("#dossier-events tbody tr")
    assert rows.count() == 3
    assert all("Data access" in text for text in rows.all_inner_texts())

    page.goto(f"/workloads/{agent.slug}/?limit=2")
    first = page.locator("#dossier-events tbody tr td:first-child").all_inner_texts()
    page.locator("#dossier-older").click()
    page.wait_for_url("**before=**")
    second = page.locator("#dossier-events tbody tr td:first-child").all_inner_texts()
    assert len(first) == len(second) == 2 and not set(first) & set(second)
    assert page.get_by_role("link", name=f"Suspend {agent}…").is_visible()
    screenshot(page, "workload-dossier")
