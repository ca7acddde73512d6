"""Revenue by vertical (read from the VerticalDay rollup) and ARR concentration, computed in the
database, against plain Python."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from dashboards.models import VerticalDay
from dashboards.selectors import concentration, revenue_by_vertical
from tests.factories import AccountFactory, HealthScoreFactory, VerticalFactory, write_rollups

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def concentration_by_hand(day: dt.date, share: int) -> tuple[int, int, Decimal]:
    arrs = sorted((a.arr for a in Account.objects.all() if a.arr > 0 and not a.is_churned(day)), reverse=True)
    total, running, count = sum(arrs, Decimal(0)), Decimal(0), 0
    for arr in arrs:
        if running * 100 >= total * share:
            break
        running += arr
        count += 1
    return count, len(arrs), total


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concentration_matches_the_running_total_by_hand(seed):
    rng = random.Random(seed)
    vertical = VerticalFactory()
    for _ in range(40):
        arr = rng.choice([0, 500, 500, 12000, 12000, 40000, rng.randint(1, 300) * 1000])
        churned = D - dt.timedelta(days=rng.randint(0, 30)) if rng.random() < 0.2 else None
        AccountFactory(vertical=vertical, arr=Decimal(arr), churned_on=churned)
    for share in (10, 40, 80, 100):
        got = concentration(D, share)
        count, of_accounts, total = concentration_by_hand(D, share)
        assert (got["accounts"], got["of_accounts"], got["total_arr"]) == (count, of_accounts, total), share


def test_concentration_without_accounts():
    assert concentration(D) == {"share": 40, "accounts": 0, "of_accounts": 0, "total_arr": Decimal(0)}


def test_one_big_account_is_the_concentration():
    AccountFactory(arr=Decimal(900000))
    AccountFactory.create_batch(5, arr=Decimal(10000))
    assert concentration(D)["accounts"] == 1
    assert concentration(D, 95)["accounts"] == 2  # 900k + 10k of 950k reach 95% (902.5k)


def test_revenue_by_vertical_reads_the_scored_accounts_of_the_day_from_the_rollup():
    edu = VerticalFactory(name="Education")
    scored = [AccountFactory(vertical=edu, arr=Decimal(1000)) for _ in range(3)]
    for account, band in zip(scored, ["healthy", "at_risk", "unknown"], strict=True):
        HealthScoreFactory(account=account, as_of=D, score=None if band == "unknown" else 50, band=band)
    HealthScoreFactory(account=scored[0], as_of=D - dt.timedelta(days=1), band="at_risk")  # another day
    AccountFactory(vertical=edu, arr=Decimal(2000))  # no result that day
    AccountFactory(vertical=edu, arr=Decimal(5000), churned_on=D)  # churned: left out
    write_rollups()
    [row] = revenue_by_vertical(D)
    assert row["accounts"] == 3 and row["arr"] == Decimal(3000)
    assert row["arr_at_risk"] == Decimal(1000)
    assert row["health_mix"] == {"healthy": 1, "neutral": 0, "at_risk": 1, "unknown": 1}
    assert row["average_arr"] == 1000.0 and row["share_of_arr"] == 100.0
    [before] = revenue_by_vertical(D - dt.timedelta(days=1))
    assert before["health_mix"] == {"healthy": 0, "neutral": 0, "at_risk": 1, "unknown": 0}
    # The rollup is what is read.
    VerticalDay.objects.filter(day=D).update(accounts=77, arr=Decimal(7700))
    [edited] = revenue_by_vertical(D)
    assert (edited["accounts"], edited["arr"], edited["average_arr"]) == (77, Decimal(7700), 100.0)


def test_revenue_by_vertical_without_results_or_rollup():
    account = AccountFactory(vertical=VerticalFactory(name="Education"), arr=Decimal(1000))
    assert revenue_by_vertical(None) == []
    HealthScoreFactory(account=account, as_of=D, score=80, band="healthy")
    assert revenue_by_vertical(D) == []  # results without their rollup: nothing computed live


def test_revenue_by_vertical_is_one_query(django_assert_num_queries):
    for name in ("Education", "Tech Sales", "Healthcare"):
        for account in AccountFactory.create_batch(3, vertical=VerticalFactory(name=name)):
            HealthScoreFactory(account=account, as_of=D, score=80, band="healthy")
    write_rollups(D)
    with django_assert_num_queries(1):
        rows = revenue_by_vertical(D)
    assert [r["accounts"] for r in rows] == [3, 3, 3]


@pytest.mark.parametrize(
    ("path", "counts_concentration"), [("/verticals/", False), ("/revenue/", True), ("/revenue/?format=csv", False)]
)
def test_concentration_is_computed_only_where_shown(client_for, leader, path, counts_concentration):
    for account in AccountFactory.create_batch(3, arr=Decimal(1000)):
        HealthScoreFactory(account=account, as_of=D, score=80, band="healthy")
    write_rollups()
    with CaptureQueriesContext(connection) as queries:
        response = client_for(leader).get(path)
    assert response.status_code == 200
    by_arr = '"accounts_account"."arr" > '  # the concentration query's filter (arr > 0)
    assert any(by_arr in q["sql"] for q in queries) is counts_concentration
    if counts_concentration:
        assert "2 accounts are 40% of ARR" in response.content.decode()  # 1,000 is under 40% of 3,000
