"""An admin ticks the Salesforce checkboxes, saves, and maps a field through the autocomplete
(M5)."""

from __future__ import annotations

import pytest

from tests.factories import make_member, make_page
from webapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def team_page(org):
    page = make_page(org, [make_member(org)], title="デモ予約ページ")
    db.session.commit()
    return page


def sign_in(page, server, admin) -> None:
    page.goto(server.url + "/login")
    page.fill("#email", admin.email)
    page.fill("#password", "secret-pass")
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/**")


def test_P1_P2_P3_checkboxes_save_with_the_button_and_persist_after_reload(
        live_server, sf_connection, page, admin, team_page):
    sign_in(page, live_server, admin)
    url = f"{live_server.url}/admin/pages/{team_page.id}/advanced"
    page.goto(url)
    form = page.locator(f"#page-salesforce-{team_page.id}")
    for name in ("sf_split_name", "sf_create_lead", "sf_create_event"):
        page.check(f"#{name}")
    assert form.locator(".sf-saved").count() == 0  # ticking alone saves nothing
    form.get_by_role("button", name="変更を保存").click()
    # The partial swapped in after the save shows the saved state next to the form.
    form.locator(".sf-saved").wait_for()
    for name in ("sf_split_name", "sf_create_lead", "sf_create_event"):
        assert page.is_checked(f"#{name}")
    page.goto(url)
    for name in ("sf_split_name", "sf_create_lead", "sf_create_event"):
        assert page.is_checked(f"#{name}")
    assert not page.is_checked("#sf_map_fields")
    db.session.expire_all()
    assert (team_page.sf_split_name, team_page.sf_create_lead, team_page.sf_create_event) == (
        True, True, True)


def test_M5_admin_maps_a_field_through_the_autocomplete(live_server, sf_connection, page, admin,
                                                        team_page):
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/admin/pages/{team_page.id}/fields/new")
    page.select_option("#field_type", "text")
    page.fill("#label", "ご予算")
    page.locator("#salesforce_field").press_sequentially("bud", delay=60)
    option = page.locator(f'#sf-fields-{team_page.id} [role=option][data-value="Budget__c"]')
    option.wait_for()
    assert "予算 (通貨)" in option.text_content()
    assert page.get_attribute("#salesforce_field", "aria-expanded") == "true"
    # A radio field is offered picklists only: the suggestions follow the type select.
    page.select_option("#field_type", "radio")
    page.fill("#salesforce_field", "")
    page.locator("#salesforce_field").press_sequentially("chat", delay=60)
    page.locator(f'#sf-fields-{team_page.id} [role=option][data-value="ChatTool__c"]').wait_for()
    assert page.locator(f'#sf-fields-{team_page.id} [data-value="Budget__c"]').count() == 0
    # Keyboard: arrow down to a suggestion, Enter fills the input with its API name (and does
    # not submit the form), Escape closes the list.
    page.select_option("#field_type", "text")
    page.fill("#salesforce_field", "")
    page.locator("#salesforce_field").press_sequentially("bud", delay=60)
    option.wait_for()
    page.keyboard.press("ArrowDown")
    active = page.get_attribute("#salesforce_field", "aria-activedescendant")
    assert page.get_attribute(f"#{active}", "data-value") == "Budget__c"
    page.keyboard.press("Enter")
    assert page.input_value("#salesforce_field") == "Budget__c"
    assert page.get_attribute("#salesforce_field", "aria-expanded") == "false"
    assert "/fields/new" in page.url
    page.click(".field-form button[type=submit]")
    page.wait_for_url(f"**/admin/pages/{team_page.id}/form")
    assert page.locator("code", has_text="Budget__c").is_visible()
    page.goto(f"{live_server.url}/admin/pages/{team_page.id}/advanced")
    row = page.locator(".sf-mapping tbody tr", has_text="ご予算")
    assert "OK" in row.inner_text() and "通貨" in row.inner_text()


def test_M4_C3_boxes_that_cannot_apply_are_hidden(live_server, sf_connection, page, admin,
                                                  team_page):
    """A date field has no Salesforce field box (dates cannot be mapped, M4); the My Domain
    URL shows only once My Domain is chosen (C3)."""
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/admin/pages/{team_page.id}/fields/new")
    page.select_option("#field_type", "text")
    assert page.is_visible("#salesforce_field") and not page.is_visible(".only-date")
    page.select_option("#field_type", "date")
    assert not page.is_visible("#salesforce_field") and page.is_visible(".only-date")
    page.goto(f"{live_server.url}/admin/integrations/salesforce/connect")
    assert not page.is_visible("#my_domain_url")
    page.check("input[name=login_kind][value=my_domain]")
    assert page.is_visible("#my_domain_url")
    page.check("input[name=login_kind][value=production]")
    assert not page.is_visible("#my_domain_url")
