"""/revenue/ additions: ARR trend, NRR/GRR, Pareto and treemap on a small hand-made ARR history."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards import selectors
from dashboards.models import RevenueDay
from dashboards.services import revenue_day_write
from tests.factories import (
    AccountFactory,
    ArrChangeFactory,
    HealthScoreFactory,
    UseCaseFactory,
    VerticalFactory,
    write_rollups,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def account(vertical, history, *, churned_on=None, use_case=None):
    """An account with ARR history [(date, arr)…]; its current ARR is the last one."""
    a = AccountFactory(
        vertical=vertical,
        arr=history[-1][1],
        churned_on=churned_on,
        **({"primary_use_case": use_case} if use_case else {}),
    )
    for day, arr in history:
        ArrChangeFactory(account=a, date=day, arr=arr)
    return a


@pytest.fixture
def history():
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    d = dt.date
    account(edu, [(d(2025, 1, 1), 1000), (d(2026, 1, 1), 1500)])  # expands
    account(edu, [(d(2025, 3, 1), 2000), (d(2026, 2, 1), 1000)])  # contracts
    account(edu, [(d(2025, 1, 1), 1000)], churned_on=d(2026, 3, 1))  # churns within the year
    account(edu, [(d(2025, 9, 1), 5000)])  # new: not in the cohort
    account(edu, [(d(2025, 1, 1), 500)], churned_on=d(2025, 5, 1))  # churned before the year
    account(tech, [(d(2024, 6, 1), 10000)])
    HealthScoreFactory(account=AccountFactory(vertical=tech, arr=0), as_of=D, band="unknown")  # results on D
    write_rollups()  # as publish does after the day's results
    return edu, tech


def test_nrr_and_grr(history):
    kept = selectors.retention(D)
    edu = next(v for v in kept.verticals if v.vertical == "Education")
    assert (edu.accounts, edu.arr_then, edu.arr_now, edu.arr_kept) == (3, 4000, 2500, 2000)
    assert (edu.nrr, edu.grr) == (62.5, 50.0)  # (1500 + 1000 + 0) / 4000; (1000 + 1000 + 0) / 4000
    tech = next(v for v in kept.verticals if v.vertical == "Tech Sales")
    assert (tech.nrr, tech.grr) == (100.0, 100.0)
    assert (kept.total.nrr, kept.total.grr) == (89.3, 85.7)  # 12500 / 14000, 12000 / 14000


def test_arr_trend_by_month_end(history):
    trend = selectors.arr_trend(D)
    assert trend.dates[0] == dt.date(2025, 6, 30) and trend.dates[-2:] == [dt.date(2026, 5, 31), D]
    assert len(trend.dates) == 13
    edu = dict(zip(trend.dates, next(s for s in trend.verticals if s.vertical == "Education").arr, strict=True))
    assert edu[dt.date(2025, 6, 30)] == 4000  # 1000 + 2000 + 1000; the one churned in May dropped out
    assert edu[dt.date(2025, 9, 30)] == 9000  # + the new 5000
    assert edu[dt.date(2026, 1, 31)] == 9500  # the expansion
    assert edu[dt.date(2026, 2, 28)] == 8500  # the contraction
    assert edu[dt.date(2026, 3, 31)] == 7500  # the churn on March 1st
    assert trend.verticals[0].vertical == "Tech Sales"  # the largest ARR now first


def test_pareto_curve():
    v = VerticalFactory(name="Education")
    for arr in (20, 100, 30, 50):
        AccountFactory(vertical=v, arr=arr)
    AccountFactory(vertical=v, arr=0)  # not paying: not on the curve
    AccountFactory(vertical=v, arr=1000, churned_on=D)
    curve = selectors.pareto(D)
    assert [(p.accounts, p.share_of_accounts, p.share_of_arr) for p in curve] == [
        (1, 25.0, 50.0),
        (2, 50.0, 75.0),
        (3, 75.0, 90.0),
        (4, 100.0, 100.0),
    ]
    assert curve[-1].cumulative_arr == Decimal("200.00")


def test_pareto_with_equal_arrs_is_the_sum_of_the_top_k():
    v = VerticalFactory(name="Education")
    for arr in (500, 100, 500, 500):
        AccountFactory(vertical=v, arr=arr)
    assert [p.cumulative_arr for p in selectors.pareto(D)] == [500, 1000, 1500, 1600]


def test_pareto_is_sampled_for_many_accounts(monkeypatch):
    monkeypatch.setattr(selectors, "PARETO_POINTS", 10)
    v = VerticalFactory(name="Education")
    AccountFactory.create_batch(45, vertical=v, arr=10)
    curve = selectors.pareto(D)
    assert 10 <= len(curve) <= 12 and curve[0].accounts == 1 and curve[-1].accounts == 45
    assert curve[-1].share_of_arr == 100.0


def test_treemap_leaves():
    v = VerticalFactory(name="Education")
    pta = UseCaseFactory(name="PTA meetings")
    AccountFactory(vertical=v, primary_use_case=pta, arr=300)
    AccountFactory(vertical=v, primary_use_case=pta, arr=200)
    AccountFactory(vertical=v, primary_use_case=None, arr=100)
    AccountFactory(vertical=v, primary_use_case=pta, arr=999, churned_on=D)
    assert selectors.arr_by_vertical_and_use_case(D) == [
        {"vertical": "Education", "use_case": "PTA meetings", "arr": Decimal("500.00"), "accounts": 2},
        {"vertical": "Education", "use_case": "(none)", "arr": Decimal("100.00"), "accounts": 1},
    ]


def test_page_shows_formulas_and_charts(client_for, leader, history):
    body = client_for(leader).get("/revenue/").content.decode()
    assert "<strong>NRR</strong> = their ARR on 2026-06-30 ÷ their ARR on 2025-06-30" in body
    for chart in ("trend-chart", "retention-chart", "pareto-chart", "treemap-chart"):
        assert f'id="{chart}"' in body
    assert "62.5%" in body and "50.0%" in body


@pytest.mark.parametrize(
    ("table", "first_rows"),
    [
        (
            "retention",
            [
                "vertical,accounts,arr_then,arr_now,arr_kept,nrr,grr",
                "Tech Sales,1,10000.00,10000.00,10000.00,100.0,100.0",
                "Education,3,4000.00,2500.00,2000.00,62.5,50.0",
            ],
        ),
        (
            "trend",
            [
                "vertical,2025-06-30,2025-07-31,2025-08-31,2025-09-30,2025-10-31,2025-11-30,2025-12-31,2026-01-31,"
                "2026-02-28,2026-03-31,2026-04-30,2026-05-31,2026-06-30"
            ],
        ),
        ("pareto", ["accounts,share_of_accounts,cumulative_arr,share_of_arr"]),
        ("use_cases", ["vertical,primary_use_case,accounts,arr"]),
    ],
)
def test_csv_tables(client_for, cs_admin, history, table, first_rows):
    response = client_for(cs_admin).get(f"/revenue/?format=csv&table={table}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines()[: len(first_rows)] == first_rows


def test_unknown_csv_table_names_the_field(client_for, leader):
    response = client_for(leader).get("/revenue/?format=csv&table=bogus")
    assert response.status_code == 400
    assert response.content.decode().startswith("table: unknown table 'bogus'; choose one of verticals, trend")


def test_csm_gets_403_for_every_table(client_for, csm):
    client = client_for(csm)
    for query in ("", "?format=csv&table=trend", "?format=csv&table=retention"):
        assert client.get(f"/revenue/{query}").status_code == 403


def test_query_count_does_not_grow_with_accounts(client_for, leader, history, django_assert_num_queries):
    edu, _ = history
    client = client_for(leader)
    client.get("/revenue/")
    with CaptureQueriesContext(connection) as small:
        client.get("/revenue/")
    for i in range(15):
        account(edu, [(dt.date(2025, 2, 1), 100 + i), (dt.date(2026, 4, 1), 200 + i)])
    with django_assert_num_queries(len(small)):
        client.get("/revenue/")


def test_the_stored_figures_are_what_the_selectors_compute(history):
    revenue_day_write(day=D)
    revenue_day_write(day=D)  # replaced, not duplicated
    assert RevenueDay.objects.count() == 1
    stored = selectors.revenue_history(D)
    assert stored.day == D
    assert (stored.trend, stored.retention, stored.pareto) == (
        selectors.arr_trend(D),
        selectors.retention(D),
        selectors.pareto(D),
    )
    assert stored.pareto and stored.retention.verticals and stored.trend.verticals  # not trivially equal


def test_a_day_without_stored_figures_reads_none(history):
    RevenueDay.objects.all().delete()
    assert selectors.revenue_history(D) is None
    assert selectors.revenue_history(None) is None


def test_the_page_reads_the_stored_figures(client_for, leader, history):
    row = RevenueDay.objects.get(day=D)
    row.retention["verticals"][1]["nrr"] = 12.3  # Education
    row.pareto[-1]["cumulative_arr"] = "98765.00"
    row.save()
    client = client_for(leader)
    assert "12.3%" in client.get("/revenue/").content.decode()
    assert (
        "Education,3,4000.00,2500.00,2000.00,12.3,50.0"
        in client.get("/revenue/?format=csv&table=retention").content.decode()
    )
    assert ",98765.00," in client.get("/revenue/?format=csv&table=pareto").content.decode()


def test_the_page_without_stored_figures_says_so(client_for, leader, history):
    RevenueDay.objects.all().delete()
    client = client_for(leader)
    response = client.get("/revenue/")
    body = response.content.decode()
    assert response.status_code == 200 and "rollups_backfill --day 2026-06-30" in body
    assert 'id="trend-chart"' not in body and "62.5%" not in body  # nothing computed live
    rows = client.get("/revenue/?format=csv&table=retention").content.decode().splitlines()
    assert rows == ["vertical,accounts,arr_then,arr_now,arr_kept,nrr,grr"]


def test_rollups_backfill_writes_every_day_with_results_once(history):
    earlier = dt.date(2026, 5, 31)
    HealthScoreFactory(account=AccountFactory(arr=0), as_of=earlier, band="unknown")
    RevenueDay.objects.all().delete()
    out = StringIO()
    call_command("rollups_backfill", stdout=out)
    assert "2 days with results" in out.getvalue() and "revenue figures for 2" in out.getvalue()
    assert sorted(RevenueDay.objects.values_list("day", flat=True)) == [earlier, D]
    assert selectors.revenue_history(D).retention == selectors.retention(D)
    written_at = RevenueDay.objects.get(day=D).written_at
    call_command("rollups_backfill", stdout=out)  # already there: left alone
    assert "revenue figures for 0" in out.getvalue() and RevenueDay.objects.get(day=D).written_at == written_at
    call_command("rollups_backfill", "--force", "--day", "2026-06-30", stdout=out)
    assert RevenueDay.objects.count() == 2 and RevenueDay.objects.get(day=D).written_at > written_at
    assert RevenueDay.objects.get(day=earlier).written_at < written_at  # outside --day: untouched
    with pytest.raises(CommandError, match="--day: 'June' is not a date"):
        call_command("rollups_backfill", "--day", "June")


def test_backfill_without_results_writes_nothing():
    out = StringIO()
    call_command("rollups_backfill", stdout=out)
    assert "no results" in out.getvalue() and not RevenueDay.objects.exists()
