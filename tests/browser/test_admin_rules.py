"""The segment rule builder in a real browser: build a nested rule with its buttons and pickers,
preview it, save it, recompute, and find the members on the segment's page."""

import datetime as dt
import json

import pytest
from django.core.management import call_command

from configuration.services import config_apply
from segments.models import Segment
from tests.factories import AccountFactory, FeatureFactory, VerticalFactory, usage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = dt.date(2026, 6, 30)

SCORECARD = {
    "name": "Education",
    "vertical": "Education",
    "measures": [{"metric": "active_days_90d", "weight": 1, "red": 1, "green": 5}],
}


@pytest.fixture
def admin_user(cs_admin):
    """The CS Admin: the role's permissions come back after each transactional flush
    (people.services.role_groups_ensure runs on post_migrate)."""
    return cs_admin


@pytest.fixture
def schools():
    """Scored as of D: Oak (big, healthy) and Elm (small, at risk) match the rule built below;
    Ash (small, healthy) and Acme (Tech Sales) do not."""
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    feature = FeatureFactory(key="scheduling")
    accounts = {
        "oak": AccountFactory(name="Oak Academy", vertical=edu, arr=50000),
        "elm": AccountFactory(name="Elm School", vertical=edu, arr=9000),
        "ash": AccountFactory(name="Ash College", vertical=edu, arr=8000),
        "acme": AccountFactory(name="Acme Corp", vertical=tech, arr=90000),
    }
    for key in ("oak", "ash"):
        for days_ago in range(6):
            usage(accounts[key], feature, D - dt.timedelta(days=days_ago * 7), events=3)
    config_apply(document={"version": 1, "scorecards": [SCORECARD]})
    call_command("recompute", as_of=D.isoformat())
    return accounts


def condition(page, path):
    return page.locator(f"[data-path='{path}']")


def test_admin_builds_previews_and_saves_a_nested_rule(page, live_server, login, admin_user, schools, console_errors):
    login("admin")
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.fill("#id_name", "Education to watch")
    page.select_option("#id_touch_model", "high")

    # vertical = Education
    condition(page, "rule.all[0]").locator(".rb-field").select_option("vertical")
    condition(page, "rule.all[0]").locator(".rb-value-select").select_option("Education")
    # AND any(health band = at risk, ARR > 30000)
    page.click("[data-path='rule'] > .rb-actions .rb-add-group")
    condition(page, "rule.all[1].any[0]").locator(".rb-field").select_option("health_band")
    condition(page, "rule.all[1].any[0]").locator(".rb-value-select").select_option("at_risk")
    condition(page, "rule.all[1]").locator(":scope > .rb-actions .rb-add-condition").click()
    condition(page, "rule.all[1].any[1]").locator(".rb-field").select_option("arr")
    condition(page, "rule.all[1].any[1]").locator(".rb-op").select_option("gt")
    condition(page, "rule.all[1].any[1]").locator(".rb-value-number").fill("30000")
    # Only the ops a number supports; the value picker of a band offers the bands.
    assert condition(page, "rule.all[1].any[1]").locator(".rb-op option").count() == 11
    assert condition(page, "rule.all[1].any[0]").locator(".rb-op option").all_inner_texts() == [
        "is",
        "is not",
        "is one of",
        "is none of",
        "is empty",
        "is set",
    ]

    page.click(".rb-preview-button")
    page.wait_for_selector(".rule-preview-count")
    assert page.inner_text(".rule-preview-count") == "2"
    assert page.inner_text(".rule-preview-entering") == "2"
    assert page.locator(".rule-preview-table tbody tr").all_inner_texts()[0].startswith("Oak Academy")
    assert page.locator(".rule-preview-table a").nth(1).get_attribute("href") == f"/accounts/{schools['elm'].pk}/"

    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/segments/segment/")
    segment = Segment.objects.get(name="Education to watch")
    assert segment.rule == {
        "all": [
            {"field": "vertical", "op": "eq", "value": "Education"},
            {
                "any": [
                    {"field": "health_band", "op": "eq", "value": "at_risk"},
                    {"field": "arr", "op": "gt", "value": 30000},
                ]
            },
        ]
    }

    call_command("recompute", as_of=D.isoformat())
    page.goto(f"{live_server.url}/segments/{segment.slug}/")
    members = page.locator("#member-table tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in members] == ["Oak Academy", "Elm School"]
    assert console_errors == []


def test_editing_the_json_rebuilds_the_builder(page, live_server, login, admin_user, schools, console_errors):
    login("admin")
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    assert page.locator("#id_rule").is_hidden()
    page.click(".rb-json-toggle")
    page.fill(
        "#id_rule", '{"any": [{"field": "tier", "op": "is_null"}, {"not": {"field": "arr", "op": "lt", "value": 100}}]}'
    )
    assert page.locator(".rb-group-any").count() == 1
    assert condition(page, "rule.any[0]").locator(".rb-field").input_value() == "tier"
    assert condition(page, "rule.any[0]").locator(".rb-op").input_value() == "is_null"
    assert condition(page, "rule.any[1]").locator(".rb-badge").inner_text() == "NOT"
    assert condition(page, "rule.any[1].not").locator(".rb-value-number").input_value() == "100"

    # Broken JSON says where, and the builder keeps the last rule that parsed.
    page.fill("#id_rule", '{"any": [\n  {"field": "tier" "op": "is_null"}\n]}')
    assert "line 2, column 20" in page.inner_text(".rb-json-error")
    assert condition(page, "rule.any[0]").count() == 1

    # And the other way: the builder rewrites the JSON.
    page.fill("#id_rule", '{"all": [{"field": "vertical", "op": "eq", "value": "Tech Sales"}]}')
    page.locator(".rb-json-error").wait_for(state="hidden")
    condition(page, "rule.all[0]").locator(".rb-negate").click()
    assert '"not"' in page.input_value("#id_rule")

    # A rule that is a single condition grows into an "all of" group when a condition is added.
    page.fill("#id_rule", '{"field": "arr", "op": "gte", "value": 1}')
    page.click("[data-path='rule'] ~ .rb-actions .rb-add-condition")
    assert json.loads(page.input_value("#id_rule")) == {
        "all": [{"field": "arr", "op": "gte", "value": 1}, {"field": "vertical", "op": "eq", "value": None}]
    }
    assert console_errors == []


def test_a_rule_the_server_refuses_is_marked_on_its_condition(
    page, live_server, login, admin_user, schools, console_errors
):
    login("admin")
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.fill("#id_name", "Nothing picked")
    page.click("input[name=_save]")  # a vertical condition without a value
    page.wait_for_selector(".errornote")
    error = condition(page, "rule.all[0]").locator(".rb-node-error")
    assert error.inner_text() == "rule.all[0].value: expected text, got null for field 'vertical'"
    assert not Segment.objects.exists()
    assert console_errors == []
