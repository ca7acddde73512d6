"""Admin changelists over the big tables (a row per account and day) never count every row."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.paginators import CappedCountPaginator
from tests.factories import AccountFactory, AccountMetricsFactory, HealthScoreFactory, UsageFactory

pytestmark = pytest.mark.django_db

BIG_LISTS = ["/admin/health/healthscore/", "/admin/health/accountmetrics/", "/admin/accounts/usagedaily/"]


def seed_days(accounts: int, days: int) -> None:
    start = dt.date(2026, 1, 1)
    for account in AccountFactory.create_batch(accounts):
        for d in range(days):
            day = start + dt.timedelta(days=d)
            HealthScoreFactory(account=account, as_of=day, score=50 + d, band="neutral")
            AccountMetricsFactory(account=account, as_of=day)
            UsageFactory(account=account, date=day)


@pytest.mark.parametrize("who", ["csm", "leader"])
@pytest.mark.parametrize("url", BIG_LISTS)
def test_big_lists_are_closed_to_non_staff(request, client_for, who, url):
    response = client_for(request.getfixturevalue(who)).get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("url", BIG_LISTS)
def test_big_lists_say_more_than_past_the_cap(client_for, cs_admin, monkeypatch, url):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    seed_days(accounts=2, days=4)  # 8 rows
    response = client_for(cs_admin).get(url)
    assert response.status_code == 200
    assert "more than 5 " in response.content.decode()
    # Pages reach the cap: 5 rows at 2 a page is 3 pages.
    monkeypatch.setattr("django.contrib.admin.ModelAdmin.list_per_page", 2)
    assert client_for(cs_admin).get(url + "?p=3").status_code == 200


def test_exact_count_under_the_cap(client_for, cs_admin):
    seed_days(accounts=2, days=4)
    html = client_for(cs_admin).get("/admin/health/healthscore/").content.decode()
    assert "8 health scores" in html
    assert "more than" not in html


def test_filtered_count_is_capped_too(client_for, cs_admin, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    seed_days(accounts=2, days=4)
    html = client_for(cs_admin).get("/admin/health/healthscore/?band__exact=neutral").content.decode()
    assert "more than 3 health scores" in html
    html = client_for(cs_admin).get("/admin/health/healthscore/?band__exact=at_risk").content.decode()
    assert "0 health scores" in html


@pytest.mark.parametrize("url", BIG_LISTS)
def test_no_unbounded_count(client_for, cs_admin, url):
    seed_days(accounts=2, days=3)
    client = client_for(cs_admin)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the changelist counts its rows"
    assert all("LIMIT" in sql.upper() for sql in counts), counts


@pytest.mark.parametrize("accounts", [2, 6])
def test_healthscore_list_query_count_does_not_grow(client_for, cs_admin, django_assert_num_queries, accounts):
    seed_days(accounts=accounts, days=3)
    client = client_for(cs_admin)
    with django_assert_num_queries(8):
        assert client.get("/admin/health/healthscore/").status_code == 200
