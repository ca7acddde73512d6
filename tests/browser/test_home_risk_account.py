"""A CSM's day: the book on the home page, the risk list filtered by vertical, an account's trend,
heatmap and say vs do, recording a stated driver. Chromium draws every chart without console errors."""

import datetime as dt

import pytest

from health.models import Scorecard
from tests.factories import AccountFactory, FeatureFactory, HealthScoreFactory, VerticalFactory, usage

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = dt.date(2026, 6, 30)


def test_csm_book_risk_filter_account_and_driver(page, live_server, login, csm, console_errors):
    scorecard = Scorecard.objects.create(name="Everyone", healthy_at=70, at_risk_below=40)
    feature = FeatureFactory(key="reminders", name="Reminders")
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    lincoln = AccountFactory(name="Lincoln High", vertical=edu, owner=csm, arr=40000)
    acme = AccountFactory(name="Acme Sales", vertical=tech, owner=csm, arr=90000)
    for offset in range(60):
        day = D - dt.timedelta(days=offset)
        for account in (lincoln, acme):
            HealthScoreFactory(
                account=account,
                as_of=day,
                score=30 + offset // 2,
                band="at_risk" if offset < 20 else "neutral",
                scorecard=scorecard,
                measures=[],
            )
        usage(lincoln, feature, day, events=offset % 5 + 1)

    login("csm")
    page.wait_for_selector("#book-chart .main-svg")
    assert page.locator("#book-chart .bars .point").count() >= 2

    page.click("nav >> text=Risk")
    page.wait_for_selector("#risk-list")
    assert page.locator("#risk-list tbody tr").count() == 2
    page.select_option("select[name=vertical]", "education")
    page.wait_for_function("document.querySelectorAll('#risk-list tbody tr').length === 1")
    assert "vertical=education" in page.url  # hx-push-url
    assert page.locator("#risk-list").inner_text().count("Lincoln High") == 1

    page.click("#risk-list >> text=Lincoln High")
    page.wait_for_selector("#trend-chart .main-svg")
    page.wait_for_selector("#heatmap-chart .main-svg")
    assert page.locator("#trend-chart .scatterlayer .trace").count() == 1
    assert page.locator("#heatmap-chart .hm").count() == 1 or page.locator("#heatmap-chart image").count() >= 1

    page.select_option("select[name=feature]", label="Reminders")
    page.fill("textarea[name=note]", "Says reminders halve no-shows")
    page.click("text=Record stated driver")
    page.wait_for_selector("text=Recorded “Reminders” as a stated driver.")
    assert "Says reminders halve no-shows" in page.inner_text("#say-vs-do")
    assert console_errors == []
