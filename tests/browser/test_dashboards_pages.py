import datetime as dt

import pytest

from tests.factories import AccountFactory, HealthScoreFactory, VerticalFactory, write_rollups

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_leader_sees_the_charts_drawn(page, live_server, login, leader, console_errors):
    for name, band in (("Education", "at_risk"), ("Tech Sales", "healthy")):
        account = AccountFactory(vertical=VerticalFactory(name=name), arr=5000)
        HealthScoreFactory(account=account, as_of=dt.date(2026, 6, 30), score=50, band=band)
    write_rollups()  # as publish does after the day's results
    login("leader")
    page.goto(f"{live_server.url}/verticals/")
    page.wait_for_selector("#mix-chart .main-svg")
    assert page.locator("#mix-chart .bars .point").count() >= 2
    page.click("text=Revenue")
    page.wait_for_selector("#arr-chart .main-svg")
    assert "accounts are 40% of ARR" in page.inner_text("#concentration")
    assert console_errors == []


def test_csm_has_no_revenue_link_and_gets_403(page, live_server, login, csm):
    login("csm")
    assert page.locator("nav >> text=Revenue").count() == 0
    response = page.goto(f"{live_server.url}/revenue/")
    assert response.status == 403
