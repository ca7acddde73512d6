"""/verticals/ for everyone, /revenue/ for leaders and admins: figures, CSV, query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.models import RevenueDay, VerticalDay
from tests.factories import AccountFactory, HealthScoreFactory, VerticalFactory, write_rollups

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def world(n_per_vertical=2):
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    for _ in range(n_per_vertical):
        for vertical, arr, band in ((edu, 10000, "at_risk"), (tech, 90000, "healthy")):
            a = AccountFactory(vertical=vertical, arr=arr)
            HealthScoreFactory(account=a, as_of=D, score=50, band=band)
    AccountFactory(vertical=tech, arr=500000, churned_on=D)  # churned: left out of ARR totals
    write_rollups()  # as publish does after the day's results


def test_pages_need_login(client):
    for path in ("/verticals/", "/revenue/"):
        assert client.get(path)["Location"].startswith("/login/")


@pytest.mark.parametrize(("who", "revenue"), [("csm", 403), ("leader", 200), ("cs_admin", 200)])
def test_roles(request, client_for, who, revenue):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/verticals/").status_code == 200
    assert client.get("/revenue/").status_code == revenue
    assert client.get("/revenue/?format=csv").status_code == revenue


def test_verticals_figures(client_for, csm):
    world()
    body = client_for(csm).get("/verticals/").content.decode()
    assert body.index("Tech Sales") < body.index("Education")  # the highest-grossing vertical first
    assert "$180,000" in body and "90.0%" in body and "$20,000" in body  # ARR, share, ARR at risk
    assert "/static/vendor/plotly.min.js" in body and 'id="mix-chart"' in body


def test_revenue_figures_and_csv(client_for, leader):
    world()
    client = client_for(leader)
    body = client.get("/revenue/").content.decode()
    assert "$200,000" in body and "1 accounts are 40% of ARR" in body
    rows = client.get("/revenue/?format=csv").content.decode().splitlines()
    assert rows == [
        "vertical,accounts,arr,share_of_arr,average_arr,arr_at_risk",
        "Tech Sales,2,180000.00,90.0,90000.0,0.00",
        "Education,2,20000.00,10.0,10000.0,20000.00",
    ]


@pytest.mark.parametrize("path", ["/verticals/", "/revenue/"])
def test_query_count_does_not_grow_with_accounts(client_for, leader, path, django_assert_num_queries):
    world(2)
    client = client_for(leader)
    client.get(path)
    with CaptureQueriesContext(connection) as small:
        client.get(path)
    world_more = 10
    for _ in range(world_more):
        AccountFactory(vertical=VerticalFactory(name="Education"), arr=1)
    with django_assert_num_queries(len(small)):
        client.get(path)


@pytest.mark.parametrize("path", ["/verticals/", "/revenue/", "/revenue/?format=csv", "/"])
def test_pages_read_the_rollup(client_for, leader, path):
    world()
    VerticalDay.objects.filter(day=D, vertical__name="Education").update(arr=4321987, arr_at_risk=1234567)
    body = client_for(leader).get(path).content.decode()
    assert ("4321987.00" if "csv" in path else "$4,321,987") in body


@pytest.mark.parametrize("path", ["/verticals/", "/revenue/", "/verticals/education/"])
def test_a_day_without_rollups_says_so(client_for, leader, path):
    world()
    VerticalDay.objects.all().delete()
    RevenueDay.objects.all().delete()
    response = client_for(leader).get(path)
    assert response.status_code == 200
    body = response.content.decode()
    assert "have not been rolled up" in body and "rollups_backfill --day 2026-06-30" in body
    assert "$180,000" not in body  # nothing computed live
