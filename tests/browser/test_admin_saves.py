"""What an admin sees around a rule save (issue #14 point 8): "Recompute now" offered after the save,
a failed save that keeps what was typed, and a revert that asks for confirmation and a reason."""

import json

import pytest
from django.utils import timezone

from configuration.models import AuditEntry
from configuration.services import config_apply
from health.models import Scorecard
from people import roles
from pipeline.models import RecomputeRun
from segments.models import Segment
from tests.factories import UserFactory, VerticalFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CARD = {
    "name": "Education",
    "vertical": "Education",
    "healthy_at": 70,
    "at_risk_below": 40,
    "measures": [{"metric": "active_days_90d", "weight": 1, "red": 0, "green": 10}],
}
RULE = {
    "all": [
        {"field": "health_band", "op": "eq", "value": "at_risk"},
        {"field": "days_to_renewal", "op": "between", "value": [0, 90]},
    ]
}


@pytest.fixture
def boss(db):
    # Transactional tests flush the permissions the role migration gave the CS Admin group: a superuser has them all.
    return UserFactory(username="boss", is_staff=True, is_superuser=True, roles=[roles.ADMIN])


@pytest.fixture
def education(db):
    VerticalFactory(name="Education")
    config_apply(document={"version": 1, "scorecards": [CARD]})
    return Scorecard.objects.get(name="Education")


def test_saving_a_segment_offers_recompute_now_which_starts_a_run(page, live_server, login, boss, console_errors):
    login("boss")
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.fill("#id_name", "Renewing at risk")
    page.click(".rb-json-toggle")
    page.fill("#id_rule", json.dumps(RULE))
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/segments/segment/")
    offer = page.locator(".messagelist li", has=page.locator("#recompute-after-save"))
    assert "Segment memberships and touch models change only after a recompute" in offer.inner_text()
    # The list words the rule it saved.
    assert "Health band is At risk and days to renewal is 0–90" in page.inner_text("#result_list")
    assert not RecomputeRun.objects.exists()
    page.click("#recompute-after-save")
    page.wait_for_url(f"{live_server.url}/admin/pipeline/recomputerun/*/progress/")
    run = RecomputeRun.objects.get()
    assert (run.as_of, run.trigger) == (timezone.localdate(), "admin")
    assert f"Recompute of {timezone.localdate():%Y-%m-%d}" in page.inner_text("#content")
    assert console_errors == []


def test_a_refused_segment_keeps_what_was_typed_and_marks_the_condition(
    page, live_server, login, boss, education, console_errors
):
    login("boss")
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.fill("#id_name", "Big schools")
    page.fill("#id_description", "Schools paying over 100k")
    page.fill("#id_priority", "7")
    page.select_option("#id_touch_model", "high")
    page.locator("[data-path='rule.all[0]'] .rb-field").select_option("vertical")
    page.locator("[data-path='rule.all[0]'] .rb-value-select").select_option("Education")
    page.click("[data-path='rule'] > .rb-actions .rb-add-condition")
    page.locator("[data-path='rule.all[1]'] .rb-field").select_option("arr")
    page.locator("[data-path='rule.all[1]'] .rb-op").select_option("between")
    page.locator("[data-path='rule.all[1]'] .rb-value-number").first.fill("200000")
    page.locator("[data-path='rule.all[1]'] .rb-value-number").nth(1).fill("100000")  # low above high
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    assert not Segment.objects.exists()
    assert page.input_value("#id_name") == "Big schools"
    assert page.input_value("#id_description") == "Schools paying over 100k"
    assert page.input_value("#id_priority") == "7" and page.input_value("#id_touch_model") == "high"
    assert page.locator("[data-path='rule.all[0]'] .rb-value-select").input_value() == "Education"
    numbers = page.locator("[data-path='rule.all[1]'] .rb-value-number")
    assert (numbers.first.input_value(), numbers.nth(1).input_value()) == ("200000", "100000")
    error = page.locator("[data-path='rule.all[1]'] .rb-node-error").inner_text()
    assert error.startswith("rule.all[1].value")
    # The JSON that was submitted is shown too, as it was posted.
    assert page.locator("#id_rule").is_visible()
    assert json.loads(page.input_value("#id_rule"))["all"][1] == {
        "field": "arr",
        "op": "between",
        "value": [200000, 100000],
    }
    assert console_errors == []


def test_a_refused_scorecard_keeps_what_was_typed_with_the_errors_on_it(
    page, live_server, login, boss, education, console_errors
):
    login("boss")
    page.goto(f"{live_server.url}/admin/health/scorecard/{education.pk}/change/")
    page.fill("input[name=name]", "Schools")
    page.fill("input[name=healthy_at]", "30")
    page.fill("input[name=at_risk_below]", "60")
    page.fill("input[name=measures-0-red]", "4")
    page.fill("input[name=measures-0-green]", "4")
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    assert page.input_value("input[name=name]") == "Schools"
    assert (page.input_value("input[name=healthy_at]"), page.input_value("input[name=at_risk_below]")) == ("30", "60")
    assert (page.input_value("input[name=measures-0-red]"), page.input_value("input[name=measures-0-green]")) == (
        "4",
        "4",
    )
    assert "must be at most healthy_at" in page.inner_text(".field-at_risk_below")
    assert "must differ from red" in page.inner_text("#measures-0 td.field-green")
    assert Scorecard.objects.get().name == "Education"
    assert console_errors == []


def test_a_revert_asks_for_confirmation_and_a_reason(page, live_server, login, boss, education, console_errors):
    config_apply(document={"version": 1, "scorecards": [{**CARD, "healthy_at": 85}]})
    login("boss")
    page.goto(f"{live_server.url}/admin/health/scorecard/{education.pk}/history/")
    page.locator(".audit-entry").first.locator(".revert-button").click()
    page.wait_for_selector(".revert-confirm")
    assert "Revert scorecard 'Education'?" in page.inner_text("#content")
    row = [" ".join(r.split()) for r in page.locator(".revert-changes tbody tr").all_inner_texts()]
    assert row == ["healthy at 85 70"]
    assert Scorecard.objects.get().healthy_at == 85  # nothing yet
    page.click("#revert-confirm")  # no reason: the browser keeps the form (the field is required)
    assert page.locator(".revert-confirm").count() == 1 and Scorecard.objects.get().healthy_at == 85
    page.fill("textarea[name=reason]", "   ")
    page.click("#revert-confirm")  # blank: the server says why
    page.wait_for_selector(".revert-confirm .errorlist")
    assert "reason: say why you revert this change" in page.inner_text(".revert-confirm .errorlist")
    page.fill("textarea[name=reason]", "85 put half the schools at risk")
    page.click("#revert-confirm")
    page.wait_for_selector(".messagelist .success")
    assert "Reverted 'Education'" in page.inner_text(".messagelist")
    assert page.locator("#recompute-after-save").count() == 1
    assert "Reason: 85 put half the schools at risk" in page.locator(".audit-entry").first.inner_text()
    assert Scorecard.objects.get().healthy_at == 70
    assert AuditEntry.objects.filter(source="revert").get().reason == "85 put half the schools at risk"
    # Cancel on the confirmation leaves everything as it is.
    page.locator(".audit-entry").nth(1).locator(".revert-button").click()
    page.click(".cancel-link")
    page.wait_for_selector(".audit-entry")
    assert Scorecard.objects.get().healthy_at == 70
    assert console_errors == []
