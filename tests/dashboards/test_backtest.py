"""SPEC §8 on a small hand-computed history: every figure of `backtest --json`."""

import datetime as dt
import json
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from health.models import Scorecard
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    ArrChangeFactory,
    HealthScoreFactory,
    MeasureFactory,
    VerticalFactory,
)

D1, D2, LATEST = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 6, 30)


def run(*args) -> dict:
    out = StringIO()
    call_command("backtest", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def scorecard(name, vertical=None, red=0, green=10):
    sc = Scorecard.objects.create(name=name, vertical=vertical)
    MeasureFactory(scorecard=sc, metric="active_days_30d", weight=1, red=red, green=green)
    return sc


def day(account, when, band, score=None, sc=None, active_days=None):
    HealthScoreFactory(account=account, as_of=when, band=band, score=score, scorecard=sc)
    if active_days is not None:
        AccountMetricsFactory(account=account, as_of=when, active_days_30d=active_days)


@pytest.fixture
def history(db):
    """Education (scorecard 'Education') and Tech Sales (scorecard 'Tech'), observed on D1 and D2."""
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    sc_edu, sc_tech = scorecard("Education", edu), scorecard("Tech", tech)
    scorecard("Everyone")
    a1 = AccountFactory(vertical=edu, arr=Decimal("10000"))  # healthy, never churns
    a2 = AccountFactory(vertical=edu, arr=Decimal("9999"), churned_on=D1 + dt.timedelta(days=90))  # edge: counts at D1
    ArrChangeFactory(account=a2, date=dt.date(2025, 6, 1), arr=4000)
    ArrChangeFactory(account=a2, date=dt.date(2026, 1, 15), arr=5000)
    a3 = AccountFactory(vertical=edu, arr=Decimal("1"), churned_on=D2 + dt.timedelta(days=91))  # edge: not within
    ArrChangeFactory(account=a3, date=dt.date(2026, 3, 1), arr=7000)  # only later entries: the earliest
    a4 = AccountFactory(vertical=edu, churned_on=dt.date(2025, 12, 1))
    a5 = AccountFactory(vertical=edu, arr=Decimal("2000"), churned_on=dt.date(2026, 2, 15))
    for when, active in ((D1, (10, 1, 5, 1)), (D2, (10, 2, 5, 1))):
        day(a1, when, "healthy", 80, sc_edu, active[0])
        day(a2, when, "at_risk", 20, sc_edu, active[1])
        day(a3, when, "neutral", 50, sc_edu, active[2])
        day(a5, when, "healthy", 80, sc_edu, active[3])
    day(a4, D1, "churned", active_days=0)  # left out, although it has metrics
    day(a4, D2, "unknown", sc=sc_edu, active_days=0)
    t1 = AccountFactory(vertical=tech)
    t2 = AccountFactory(vertical=tech, churned_on=dt.date(2026, 3, 1))
    t3 = AccountFactory(vertical=tech)
    day(t1, D1, "healthy", 90, sc_tech, 3)
    day(t2, D1, "at_risk", 10, sc_tech, 3)
    day(t3, D1, "at_risk", 10, sc_tech)  # no stored metrics: left out of the comparison
    day(a1, LATEST, "healthy", 80, sc_edu)
    day(a1, dt.date(2026, 6, 1), "healthy", 80, sc_edu)  # within the horizon of the latest date: no observation


def band(observations, churned, rate, arr, arr_churned):
    return {
        "observations": observations,
        "churned": churned,
        "churn_rate": rate,
        "arr": arr,
        "arr_churned": arr_churned,
    }


EDUCATION = {
    "auc": 0.625,  # churned 20,20,80,80 vs retained 80,80,50,50: (8 + 2 × ½ × 2) / 16
    "lift": 2.0,
    "bands": {
        "healthy": band(4, 2, 0.5, 24000, 4000),
        "neutral": band(2, 0, 0.0, 14000, 0),
        "at_risk": band(2, 2, 1.0, 9000, 9000),  # ARR on D1 4000 (entry before), on D2 5000 (entry of Jan 15)
    },
}
TECH = {
    "auc": 0.75,  # churned 10 vs retained 10 (tie, ½) and 90 (1): 1.5 / 2
    "lift": None,  # healthy churn rate 0
    "bands": {
        "healthy": band(1, 0, 0.0, 12000, 0),
        "neutral": band(0, 0, None, 0, 0),
        "at_risk": band(2, 1, 0.5, 24000, 12000),
    },
}


def test_every_figure_of_the_report(history):
    report = run()
    assert report["horizon_days"] == 90
    assert report["observation_dates"] == ["2026-01-01", "2026-02-01"]
    assert report["scorecards"] == [
        {"scorecard": "Education", "vertical": "Education", "use_case": None, **EDUCATION},
        {"scorecard": "Tech", "vertical": "Tech Sales", "use_case": None, **TECH},
    ]
    assert report["verticals"] == [{"vertical": "Education", **EDUCATION}, {"vertical": "Tech Sales", **TECH}]
    assert report["overall"] == {
        "auc": 0.65,  # 19.5 / 30
        "lift": 1.875,  # 0.75 / 0.4
        "bands": {
            "healthy": band(5, 2, 0.4, 36000, 4000),
            "neutral": band(2, 0, 0.0, 14000, 0),
            "at_risk": band(4, 3, 0.75, 33000, 21000),
        },
    }
    assert report["compare"] is None
    assert "error" not in report
    assert list(report) == ["horizon_days", "observation_dates", "scorecards", "overall", "verticals", "compare"]


def test_compare_rescores_every_observation_from_the_stored_metrics(history):
    report = run("--compare", "Everyone")
    assert report["compare"] == {
        "scorecard": "Everyone",
        "by_vertical": [
            # Everyone scores active days ×10: every churned Education observation below every retained one.
            {"vertical": "Education", "own_auc": 0.625, "compare_auc": 1.0},
            # t3 has no metrics that day: t2 (30, churned) against t1 (30): a tie.
            {"vertical": "Tech Sales", "own_auc": 0.75, "compare_auc": 0.5},
        ],
    }


def test_horizon_edges(history):
    # Horizon 91: a3 (churned D2 + 91) now churns within the horizon of D2 (and of D1? D1 + 91 < May 3: no).
    report = run("--horizon", "91")
    edu = report["scorecards"][0]["bands"]
    assert edu["neutral"]["churned"] == 1
    # Horizon 89: a2 (churned D1 + 90) no longer churns within the horizon of D1, still within D2's.
    edu = run("--horizon", "89")["scorecards"][0]["bands"]
    assert edu["at_risk"] == band(2, 1, 0.5, 9000, 5000)


def _published(dates):
    vertical = VerticalFactory(name="Education")
    account = AccountFactory(vertical=vertical)
    for when in dates:
        HealthScoreFactory(account=account, as_of=when, band="healthy", score=80)


@pytest.mark.django_db
def test_observation_dates_step_from_to_and_horizon():
    days = [dt.date(2026, m, d) for m, d in ((1, 1), (1, 15), (2, 1), (2, 10), (3, 3), (4, 1), (6, 30))]
    _published(days)

    def dates(*args):
        return run(*args)["observation_dates"]

    # Feb 1 + 30 days = Mar 3 (kept), Apr 1 is 29 days after it; Apr 1 + 90 = Jun 30 = latest would count.
    assert dates() == ["2026-01-01", "2026-02-01", "2026-03-03"]
    assert dates("--step", "1") == ["2026-01-01", "2026-01-15", "2026-02-01", "2026-02-10", "2026-03-03", "2026-04-01"]
    assert dates("--step", "1", "--horizon", "91") == [
        "2026-01-01",
        "2026-01-15",
        "2026-02-01",
        "2026-02-10",
        "2026-03-03",
    ]
    assert dates("--from", "2026-01-10") == ["2026-01-15", "2026-03-03"]
    assert dates("--to", "2026-02-20") == ["2026-01-01", "2026-02-01"]
    assert dates("--from", "2026-02-01", "--to", "2026-02-01") == ["2026-02-01"]


@pytest.mark.django_db
def test_no_observation_date_says_so_instead_of_zeros():
    _published([dt.date(2026, 6, 1), LATEST])
    report = run()
    assert report["observation_dates"] == [] and report["scorecards"] == [] and report["overall"] is None
    assert "Not enough history" in report["error"]
    out = StringIO()
    call_command("backtest", stdout=out)
    assert "Not enough history" in out.getvalue()


@pytest.mark.django_db
def test_no_churned_observation_says_so():
    _published([D1, LATEST])
    report = run()
    assert report["overall"]["auc"] is None and report["overall"]["lift"] is None
    assert "none of the 1 observations churned" in report["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01"], "--from: not a date in YYYY-MM-DD form"),
        (["--to", "yesterday"], "--to: not a date in YYYY-MM-DD form"),
        (["--horizon", "0"], "--horizon: must be a number of days greater than 0"),
        (["--horizon", "-5"], "--horizon: must be a number of days greater than 0"),
        (["--horizon", "ten"], "--horizon: must be a whole number of days"),
        (["--step", "0"], "--step: must be a number of days greater than 0"),
        (["--from", "2026-03-01", "--to", "2026-02-01"], "--from: 2026-03-01 is after to (2026-02-01)"),
        (["--compare", "Nobody"], "--compare: no scorecard is called 'Nobody'"),
    ],
)
@pytest.mark.django_db
def test_bad_arguments_name_the_option(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("backtest", *args, stdout=StringIO())


def test_readable_table(history):
    out = StringIO()
    call_command("backtest", "--compare", "Everyone", stdout=out)
    text = out.getvalue()
    assert "2 observation dates (2026-01-01 … 2026-02-01)" in text
    assert "Education" in text and "AUC 0.6250" in text and "lift 2.0000" in text
    assert "re-scored with 'Everyone'" in text


@pytest.mark.parametrize("accounts", [3, 30])
@pytest.mark.django_db
def test_query_count_does_not_grow_with_accounts(accounts, django_assert_num_queries):
    vertical = VerticalFactory(name="Education")
    sc = scorecard("Education", vertical)
    for n in range(accounts):
        account = AccountFactory(vertical=vertical, churned_on=dt.date(2026, 3, 1) if n % 3 == 0 else None)
        ArrChangeFactory(account=account, date=dt.date(2025, 1, 1), arr=100 + n)
        for when in (D1, D2, LATEST):
            day(account, when, ("healthy", "at_risk")[n % 2], 80 - n, sc, n % 10)
    # published days, the observation groups, scorecards, verticals; compare: the scorecard, its
    # measures, the metric groups; the command's form: the scorecard names.
    with django_assert_num_queries(8):
        report = run("--compare", "Education")
    assert (
        report["overall"]["bands"]["healthy"]["observations"] + report["overall"]["bands"]["at_risk"]["observations"]
        == 2 * accounts
    )
