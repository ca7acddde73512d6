"""/verticals/<slug>/: every role, 404, distribution, risk matrix, funnels, adoption, history, query counts."""

import datetime as dt
import json
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AccountUseCase
from dashboards import selectors
from dashboards.journeys import journey_funnels
from dashboards.models import VerticalDay
from dashboards.services import vertical_days_rollup
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    HealthScoreFactory,
    JourneyFactory,
    StageFactory,
    UseCaseFactory,
    VerticalFactory,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def figure(body: str, element_id: str) -> dict:
    match = re.search(rf'id="{element_id}"[^>]*data-figure="([^"]*)"', body)
    assert match, f"no figure #{element_id}"
    return json.loads(unescape(match.group(1)))


@pytest.fixture
def edu():
    """Education: 3 healthy, 1 neutral, 2 at risk on D; a journey of three stages; a churned account."""
    edu = VerticalFactory(name="Education")
    pta, board = UseCaseFactory(name="PTA meetings"), UseCaseFactory(name="Board meetings")
    journey = JourneyFactory(vertical=edu, use_case=pta)
    s1, s2, s3 = (
        StageFactory(journey=journey, name=n, position=i) for i, n in enumerate(["Booked", "Reminders", "Recurring"])
    )
    cast = [  # name, arr, score, band, stage, runs board meetings too
        ("Alpha", 90000, 90, "healthy", s3, True),
        ("Bravo", 40000, 80, "healthy", s2, True),
        ("Charlie", 30000, 75, "healthy", s1, False),
        ("Delta", 20000, 55, "neutral", s1, False),
        ("Echo", 10000, 30, "at_risk", None, True),
        ("Foxtrot", 5000, 10, "at_risk", None, False),
    ]
    accounts = {}
    for name, arr, score, band, stage, board_too in cast:
        a = AccountFactory(name=name, vertical=edu, primary_use_case=pta, arr=arr)
        if board_too:
            AccountUseCase.objects.create(account=a, use_case=board)
        HealthScoreFactory(account=a, as_of=D, score=score, band=band)
        # The day before, every account was at risk: nothing of it may leak into D's figures.
        HealthScoreFactory(account=a, as_of=D - dt.timedelta(days=1), score=5, band="at_risk")
        AccountMetricsFactory(account=a, as_of=D, journey_stage=stage)
        accounts[name] = a
    gone = AccountFactory(name="Gone", vertical=edu, primary_use_case=pta, arr=70000, churned_on=D)
    HealthScoreFactory(account=gone, as_of=D, band="churned")
    AccountMetricsFactory(account=gone, as_of=D, journey_stage=s3)
    vertical_days_rollup(start=D)
    return edu, accounts


def test_needs_login(client, edu):
    assert client.get("/verticals/education/")["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["csm", "leader", "cs_admin"])
def test_every_role_sees_it_and_unknown_slug_is_404(request, client_for, who, edu):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/verticals/education/").status_code == 200
    assert client.get("/verticals/no-such-vertical/").status_code == 404


def test_verticals_list_links_to_the_page(client_for, csm, edu):
    assert 'href="/verticals/education/"' in client_for(csm).get("/verticals/").content.decode()


def test_figures(client_for, leader, edu):
    _, accounts = edu
    body = client_for(leader).get("/verticals/education/").content.decode()
    histogram = figure(body, "histogram-chart")
    by_band = {t["name"]: sorted(t["x"]) for t in histogram["data"]}
    assert by_band == {"Healthy": [75, 80, 90], "Neutral": [55], "At risk": [10, 30]}
    matrix = figure(body, "risk-matrix")
    urls = sorted(u for t in matrix["data"] for u in t["customdata"])
    assert urls == sorted(f"/accounts/{a.pk}/" for a in accounts.values())  # the churned one is not scored
    assert matrix["layout"]["xaxis"]["type"] == "log"
    assert 'data-click-url="customdata"' in body
    assert 'id="median-score">65<' in body  # the median of 10, 30, 55, 75, 80, 90, from the rollup
    history = figure(body, "history-chart")
    assert history["data"][0]["y"] == [65.0]


def test_funnel_counts_accounts_reaching_each_stage(edu):
    vertical, _ = edu
    [funnel] = journey_funnels(D, vertical=vertical)
    assert funnel["accounts"] == 6  # active accounts of the journey's scope; the churned one left out
    assert [(s["stage"], s["accounts"]) for s in funnel["stages"]] == [
        ("Booked", 4),
        ("Reminders", 2),
        ("Recurring", 1),
    ]


def test_use_case_adoption_healthy_vs_at_risk(edu):
    vertical, _ = edu
    rows = {r["use_case"]: r for r in selectors.use_case_adoption(selectors.vertical_day(vertical, D))}
    assert rows["PTA meetings"]["healthy_share"] == 100.0 and rows["PTA meetings"]["at_risk_share"] == 100.0
    assert (rows["Board meetings"]["healthy"], rows["Board meetings"]["healthy_share"]) == (2, 66.7)
    assert (rows["Board meetings"]["at_risk"], rows["Board meetings"]["at_risk_share"]) == (1, 50.0)


def test_risk_matrix_is_capped_to_the_largest_and_the_at_risk(edu, monkeypatch):
    vertical, accounts = edu
    monkeypatch.setattr(selectors, "RISK_MATRIX_TOP", 2)
    monkeypatch.setattr(selectors, "RISK_MATRIX_AT_RISK", 1)
    matrix = selectors.risk_matrix(vertical, D, scored_accounts=6)
    assert sorted((p["name"], p["score"], p["band"]) for p in matrix["points"]) == [
        ("Alpha", 90, "healthy"),
        ("Bravo", 80, "healthy"),
        ("Echo", 30, "at_risk"),
    ]
    assert (matrix["accounts"], matrix["capped"]) == (6, True)


def test_cross_pollination_lists_the_accounts_missing_a_use_case(client_for, csm, edu):
    vertical, accounts = edu
    board = UseCaseFactory(name="Board meetings")
    for name in ("Golf", "Hotel"):
        a = AccountFactory(name=name, vertical=vertical, arr=1000)
        AccountUseCase.objects.create(account=a, use_case=board)
        HealthScoreFactory(account=a, as_of=D, score=95, band="healthy")
    # The healthy peers per use case come from the day's rollup, rewritten with the day's results.
    vertical_days_rollup(start=D)
    body = client_for(csm).get("/verticals/education/").content.decode()
    section = body[body.index('id="cross-pollination"') :]
    assert "Board meetings" in section and "80% of healthy peers" in section  # 4 of 5 healthy accounts
    assert f'href="/accounts/{accounts["Charlie"].pk}/"' in section
    assert f'href="/accounts/{accounts["Alpha"].pk}/"' not in section


def test_query_count_does_not_grow_with_accounts(client_for, leader, edu, django_assert_num_queries):
    vertical, _ = edu
    pta, board = UseCaseFactory(name="PTA meetings"), UseCaseFactory(name="Board meetings")

    def more(n):  # cross-pollination qualifies the same two use cases in both runs (a query each)
        for i in range(n):
            a = AccountFactory(vertical=vertical, primary_use_case=pta, arr=1000 + i)
            AccountUseCase.objects.create(account=a, use_case=board)
            HealthScoreFactory(account=a, as_of=D, score=20 + i * 5, band="at_risk" if i < 4 else "healthy")
            AccountMetricsFactory(account=a, as_of=D)
        vertical_days_rollup(start=D)

    more(6)
    client = client_for(leader)
    client.get("/verticals/education/")
    with CaptureQueriesContext(connection) as small:
        client.get("/verticals/education/")
    more(14)
    with django_assert_num_queries(len(small)):
        client.get("/verticals/education/")


def test_page_without_any_results(client_for, csm):
    VerticalFactory(name="Healthcare")
    body = client_for(csm).get("/verticals/healthcare/").content.decode()
    assert "not scored yet" in body and "No journey is defined for Healthcare" in body


def test_the_page_reads_the_rollup(client_for, csm, edu):
    vertical, _ = edu
    vertical_days_rollup(start=D)
    VerticalDay.objects.filter(vertical=vertical, day=D).update(accounts=4321, median_score=12.0)
    body = client_for(csm).get("/verticals/education/").content.decode()
    assert "4,321" in body and 'id="median-score">12<' in body
