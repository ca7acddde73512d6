"""/backtest/ in a real browser: the churn-by-band chart is drawn; a screenshot for the README."""

from pathlib import Path

import pytest

from tests.dashboards.test_backtest import history  # noqa: F401  (the hand-computed history)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "backtest.png"


def test_backtest_page_draws_the_chart(page, live_server, login, leader, history, console_errors):  # noqa: F811
    login("leader")
    page.click("nav >> text=Backtest")
    page.wait_for_selector("#backtest-chart .main-svg")
    assert page.locator("#backtest-chart .bars .point").count() >= 4
    page.select_option("select[name=compare]", "Everyone")
    page.click("text=Run the backtest")
    page.wait_for_selector("#backtest-chart .main-svg")
    assert "'Everyone' predicts better" in page.inner_text("#compare")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.goto(f"{live_server.url}/backtest/?horizon=0")  # the browser itself refuses to submit 0 (min=1)
    assert "horizon: must be a number of days greater than 0" in page.inner_text("#backtest-errors")
    assert console_errors == []


def test_csm_has_no_backtest_link(page, live_server, login, csm):
    login("csm")
    assert page.locator("nav >> text=Backtest").count() == 0
    assert page.goto(f"{live_server.url}/backtest/").status == 403
