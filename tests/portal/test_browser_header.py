"""The header in a real browser: one row down to 1,280 px, and its search box finds things."""

import pytest

from .conftest import ask
from .test_browser_flows import browser, page, screenshot, sign_in  # noqa: F401 - shared browser fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def header_layout(browser_page):
    """The header's boxes: on one row, every item's top is above every other item's bottom."""
    return browser_page.evaluate(
        """() => {
            const bar = document.querySelector('.topbar-inner');
            const items = [...bar.children, ...document.querySelectorAll('.mainnav li')];
            const boxes = items.map(el => el.getBoundingClientRect());
            return {
                oneRow: Math.max(...boxes.map(b => b.top)) < Math.min(...boxes.map(b => b.bottom)),
                height: document.querySelector('.topbar').getBoundingClientRect().height,
            };
        }"""
    )


@pytest.mark.parametrize("width", [1280, 1366])
def test_an_owners_header_with_every_item_fits_on_one_row(page, owner, write_policy, width):  # noqa: F811
    owner.display_name = "Olivia Owens"  # the demo's owner, whose header wrapped at 1,366 px
    owner.save(update_fields=["display_name"])
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "owner")
    assert page.locator(".mainnav li").count() == 9  # Dashboard … Alignment, Request access
    screenshot(page, f"header-owner-{width}")
    layout = header_layout(page)
    assert layout["oneRow"], layout
    assert layout["height"] <= 60, layout
    assert page.get_by_role("searchbox", name="Search workflows, workloads, people and requests").is_visible()


def test_the_header_search_finds_a_request_by_task_reference_and_a_workflow(
    page,  # noqa: F811
    owner,
    write_policy,
    requesters_agent,
    requester,
):
    found = ask(write_policy, agent=requesters_agent, for_whom=requester, task_ref="INC-4711")
    sign_in(page, "owner")
    box = page.get_by_role("searchbox", name="Search workflows, workloads, people and requests")
    box.fill("inc-4711")
    box.press("Enter")
    page.wait_for_url("**/search/?q=inc-4711")
    page.get_by_role("link", name=f"Request #{found.pk}").click()
    page.wait_for_url(f"**/access/requests/{found.pk}/")

    box.fill(write_policy.workflow.name[:6])
    box.press("Enter")
    found_workflows = page.get_by_role("region", name="Workflows")
    assert found_workflows.get_by_role("link", name=write_policy.workflow.name).is_visible()
    screenshot(page, "header-search")
