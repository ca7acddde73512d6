"""A leader browses verticals → a vertical → an account through the risk matrix; revenue and journeys draw."""

import datetime as dt

import pytest

from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    ArrChangeFactory,
    HealthScoreFactory,
    JourneyFactory,
    StageFactory,
    UseCaseFactory,
    VerticalFactory,
    write_rollups,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = dt.date(2026, 6, 30)


@pytest.fixture
def world():
    edu, pta = VerticalFactory(name="Education"), UseCaseFactory(name="PTA meetings")
    journey = JourneyFactory(vertical=edu, use_case=pta)
    stages = [StageFactory(journey=journey, name=n, position=i) for i, n in enumerate(["Booked", "Recurring"])]
    accounts = []
    for i, (score, band) in enumerate([(90, "healthy"), (85, "healthy"), (50, "neutral"), (20, "at_risk")]):
        a = AccountFactory(name=f"School {i}", vertical=edu, primary_use_case=pta, arr=10000 * (i + 1))
        ArrChangeFactory(account=a, date=dt.date(2025, 1, 1), arr=a.arr)
        HealthScoreFactory(account=a, as_of=D, score=score, band=band)
        AccountMetricsFactory(account=a, as_of=D, journey_stage=stages[i % 2])
        accounts.append(a)
    write_rollups()  # as publish does after the day's results
    return accounts


def test_leader_goes_from_verticals_to_an_account_through_the_risk_matrix(
    page, live_server, login, leader, world, console_errors
):
    login("leader")
    page.goto(f"{live_server.url}/verticals/")
    page.click("#verticals-table >> text=Education")
    page.wait_for_url(f"{live_server.url}/verticals/education/")
    for chart in ("#histogram-chart", "#history-chart", "#risk-matrix", "#adoption-chart", ".funnel"):
        page.wait_for_selector(f"{chart} .main-svg")
    assert page.locator("#histogram-chart .bars .point").count() >= 3
    assert page.locator(".funnel .bars .point, .funnel .funnel .point, .funnel path.surface").count() >= 1
    # The at-risk trace holds one point: School 3. Click its centre.
    point = page.locator("#risk-matrix .scatterlayer .trace").nth(2).locator(".point")
    assert point.count() == 1
    page.locator("#risk-matrix").scroll_into_view_if_needed()
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)  # Plotly reports a click on the point it is hovering
    page.wait_for_selector("#risk-matrix .hoverlayer .hovertext")
    assert "School 3" in page.text_content("#risk-matrix .hoverlayer")
    page.mouse.click(x, y)
    page.wait_for_url(f"{live_server.url}/accounts/{world[3].pk}/")
    assert "School 3" in page.inner_text("h1")
    assert console_errors == []


def test_leader_sees_revenue_and_journeys_charts(page, live_server, login, leader, world, console_errors):
    login("leader")
    page.goto(f"{live_server.url}/revenue/")
    for chart in ("#arr-chart", "#trend-chart", "#retention-chart", "#pareto-chart", "#treemap-chart"):
        page.wait_for_selector(f"{chart} .main-svg")
    assert page.locator("#trend-chart .scatterlayer .trace").count() == 1
    page.click("nav >> text=Journeys")
    page.wait_for_selector(".journey .main-svg")
    assert "Education · PTA meetings" in page.inner_text(".journey h2")
    page.click("nav >> text=Segments")
    page.wait_for_selector("#members-chart .main-svg")
    assert console_errors == []
