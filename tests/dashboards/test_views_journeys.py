"""/journeys/: every role, funnel counts, accounts stuck in a stage, bad input, query count."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from dashboards.journeys import STUCK_ORDER, journey_funnels, stuck_accounts, stuck_metrics
from dashboards.models import VerticalDay
from dashboards.rollups import JourneyStageCounts
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    HealthScoreFactory,
    JourneyFactory,
    StageFactory,
    UseCaseFactory,
    VerticalFactory,
    write_rollups,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)
THEN = D - dt.timedelta(days=30)


@pytest.fixture
def journey():
    edu, pta = VerticalFactory(name="Education"), UseCaseFactory(name="PTA meetings")
    j = JourneyFactory(vertical=edu, use_case=pta)
    stages = [StageFactory(journey=j, name=n, position=i) for i, n in enumerate(["Booked", "Reminders", "Recurring"])]
    return edu, pta, stages


def member(journey, name, arr, now, then=None, **kwargs):
    edu, pta, stages = journey
    a = AccountFactory(name=name, vertical=edu, primary_use_case=pta, arr=arr, **kwargs)
    AccountMetricsFactory(account=a, as_of=D, journey_stage=None if now is None else stages[now])
    HealthScoreFactory(account=a, as_of=D, band="unknown")  # pages show the latest results' date
    if then != "none":
        AccountMetricsFactory(account=a, as_of=THEN, journey_stage=None if then is None else stages[then])
    return a


@pytest.fixture
def cast(journey):
    cast = {
        "new": member(journey, "New", 100, None, None),
        "stuck_small": member(journey, "Stuck small", 1000, 1, 1),
        "stuck_big": member(journey, "Stuck big", 9000, 0, 0),
        "moved": member(journey, "Moved", 5000, 1, 0),  # reached Reminders since
        "done": member(journey, "Done", 7000, 2, 2),  # the last stage: not stuck
        "gone": member(journey, "Gone", 8000, 0, 0, churned_on=D),
    }
    write_rollups()  # as publish does after the day's results
    return cast


def test_needs_login(client):
    assert client.get("/journeys/")["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["csm", "leader", "cs_admin"])
def test_every_role(request, client_for, who, cast):
    body = client_for(request.getfixturevalue(who)).get("/journeys/").content.decode()
    assert "Education</a> · PTA meetings" in body and 'href="/journeys/"' in body


def test_funnel_counts(journey, cast):
    [funnel] = journey_funnels(D)
    assert funnel["accounts"] == 5  # the churned account left out
    assert [(s["stage"], s["accounts"]) for s in funnel["stages"]] == [
        ("Booked", 4),
        ("Reminders", 3),
        ("Recurring", 1),
    ]


def test_stuck_same_stage_30_days_ago_largest_first(cast):
    stuck = stuck_accounts(D)
    assert [m.account.name for m in stuck["accounts"]] == ["Stuck big", "Stuck small"]
    assert (stuck["count"], stuck["arr"], stuck["compared_on"]) == (2, 10000, THEN)
    assert [m.account.name for m in stuck_accounts(D, limit=1)["accounts"]] == ["Stuck big"]


def test_stuck_without_history_lists_accounts_whose_next_stage_is_not_reached(journey):
    member(journey, "A", 100, 0, then="none")
    member(journey, "B", 200, 1, then="none")
    member(journey, "C", 300, 2, then="none")
    write_rollups()
    stuck = stuck_accounts(D)
    assert stuck["compared_on"] is None and [m.account.name for m in stuck["accounts"]] == ["B", "A"]


def test_page_lists_stuck_accounts_with_links(client_for, leader, cast):
    body = client_for(leader).get("/journeys/").content.decode()
    section = body[body.index('id="stuck"') :]
    assert (
        f'href="/accounts/{cast["stuck_big"].pk}/"' in section
        and f'href="/accounts/{cast["moved"].pk}/"' not in section
    )
    assert "2 accounts, $10,000 ARR" in section


def test_vertical_filter_and_unknown_vertical(client_for, csm, cast):
    VerticalFactory(name="Tech Sales")
    client = client_for(csm)
    assert "PTA meetings" not in client.get("/journeys/?vertical=tech-sales").content.decode().split("<h1>")[1]
    response = client.get("/journeys/?vertical=nope")
    assert response.status_code == 400 and "vertical: no vertical &#x27;nope&#x27;" in response.content.decode()


def test_query_count_does_not_grow_with_accounts(client_for, leader, journey, cast, django_assert_num_queries):
    client = client_for(leader)
    client.get("/journeys/")
    with CaptureQueriesContext(connection) as small:
        client.get("/journeys/")
    for i in range(12):
        member(journey, f"More {i}", 100 + i, i % 3, i % 3)
    write_rollups()
    with django_assert_num_queries(len(small)):
        client.get("/journeys/")


def test_stuck_from_the_days_rollup_is_what_stuck_metrics_computes(journey, cast, django_assert_max_num_queries):
    edu, _, _ = journey
    other = VerticalFactory(name="Tech Sales")  # a vertical with metrics and nobody stuck
    HealthScoreFactory(account=AccountFactory(vertical=other), as_of=D, band="unknown")
    AccountMetricsFactory(account=other.accounts.get(), as_of=D)
    write_rollups()
    assert VerticalDay.objects.get(vertical=edu, day=D).stuck["top"] == [cast["stuck_big"].pk, cast["stuck_small"].pk]
    computed, compared_on = stuck_metrics(D)
    for v in (None, edu, other):
        scope = computed if v is None else computed.filter(account__vertical=v)
        for limit in (1, 100):
            with django_assert_max_num_queries(2):  # the day's rollup rows, the top accounts (none: no query)
                stored = stuck_accounts(D, vertical=v, limit=limit)
            assert stored["accounts"] == list(scope.order_by(*STUCK_ORDER)[:limit])
            assert (stored["count"], stored["arr"]) == (scope.count(), scope.aggregate(a=Sum("account__arr"))["a"] or 0)
            assert stored["compared_on"] == compared_on == THEN and stored["rolled_up"]
    # It is the rollup that is read.
    VerticalDay.objects.filter(vertical=edu, day=D).update(
        stuck={"compared_on": None, "accounts": 7, "arr": "1", "top": []}
    )
    assert (stuck_accounts(D)["count"], stuck_accounts(D)["accounts"], stuck_accounts(D)["compared_on"]) == (
        7,
        [],
        None,
    )
    with pytest.raises(ValueError, match="the 100 largest"):
        stuck_accounts(D, limit=101)  # the rollup keeps no more: never counted live
    # Another comparison window is the computation's own business (the rollup keeps STUCK_DAYS).
    assert stuck_metrics(D, days=60)[1] is None


def test_a_day_without_its_rollup_says_so(client_for, leader, cast):
    VerticalDay.objects.all().delete()
    assert stuck_accounts(D)["rolled_up"] is False and stuck_accounts(D)["count"] == 0
    assert all(f["accounts"] == 0 and not f["rolled_up"] for f in journey_funnels(D))
    response = client_for(leader).get("/journeys/")
    body = response.content.decode()
    assert response.status_code == 200 and "rollups_backfill --day 2026-06-30" in body
    assert f'href="/accounts/{cast["stuck_big"].pk}/"' not in body  # nothing computed live


def test_the_page_reads_the_rollup(client_for, leader, journey, cast):
    edu, pta, stages = journey
    row = VerticalDay.objects.get(vertical=edu, day=D)
    row.stuck = {**row.stuck, "accounts": 4321, "arr": "98765"}
    row.journey_stages = JourneyStageCounts({pta.pk: {stages[2].pk: 777}}).to_json()
    row.save()
    body = client_for(leader).get("/journeys/").content.decode()
    assert "4,321 accounts, $98,765 ARR" in body
    assert '<td class="num">777</td>' in body  # every stage reached by the 777 in the last one
