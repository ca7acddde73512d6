"""SPEC §5.1 metrics as of D, through the recompute: window bounds and every edge."""

import datetime as dt

import pytest
from django.db import connection

from health.engine.metrics import compute_facts
from health.models import AccountMetrics
from pipeline.services import recompute
from tests.factories import AccountFactory, FeatureFactory, NpsResponseFactory, usage

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def day(n):
    """D − n."""
    return D - dt.timedelta(days=n)


def metrics_of(account, as_of=D):
    recompute(as_of=as_of)
    return AccountMetrics.objects.get(account=account, as_of=as_of)


@pytest.fixture
def f1():
    return FeatureFactory(key="scheduling")


@pytest.fixture
def f2():
    return FeatureFactory(key="reminders")


def test_windows_are_inclusive_of_d_minus_29_and_exclude_d_minus_30(f1):
    a = AccountFactory()
    for n in (0, 29, 30, 89, 90, 364, 365):
        usage(a, f1, day(n), events=2, active_users=n + 1)
    m = metrics_of(a)
    assert m.active_days_30d == 2  # D and D-29
    assert m.active_days_90d == 4  # + D-30, D-89
    assert m.active_days_365d == 6  # + D-90, D-364; D-365 is outside
    assert m.events_30d == 4
    assert m.active_users_30d == 30  # the row of D-29
    assert m.days_since_last_activity == 0


def test_zero_event_rows_are_not_activity_but_count_for_active_users(f1, f2):
    a = AccountFactory(seats=40)
    usage(a, f1, day(1), events=0, active_users=10)
    usage(a, f2, day(2), events=3, active_users=4)
    m = metrics_of(a)
    assert m.active_days_30d == 1
    assert m.events_30d == 3
    assert m.active_users_30d == 10  # largest active_users of any row in the window
    assert m.seat_utilization_30d == 25.0
    assert m.features_used_90d == 1
    assert m.days_since_last_activity == 2


def test_same_day_on_two_features_is_one_active_day(f1, f2):
    a = AccountFactory()
    usage(a, f1, day(3))
    usage(a, f2, day(3))
    m = metrics_of(a)
    assert (m.active_days_30d, m.features_used_90d) == (1, 2)


def test_no_usage_gives_zeros_and_days_since_start(f1):
    a = AccountFactory(start_date=day(100), seats=None)
    m = metrics_of(a)
    assert (m.active_days_30d, m.active_days_365d, m.events_30d, m.active_users_30d, m.features_used_90d) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert m.active_months_365d == 0
    assert m.seat_utilization_30d is None
    assert m.days_since_last_activity == 100
    assert m.nps_latest is None


def test_no_usage_and_no_start_date_gives_none(f1):
    a = AccountFactory(start_date=None)
    assert metrics_of(a).days_since_last_activity is None


def test_zero_seats_gives_no_utilization(f1):
    a = AccountFactory(seats=0)
    usage(a, f1, day(1), active_users=5)
    assert metrics_of(a).seat_utilization_30d is None


def test_last_activity_older_than_a_year_still_counts(f1):
    a = AccountFactory(start_date=dt.date(2020, 1, 1))
    usage(a, f1, day(500))
    usage(a, f1, day(400), events=0)
    m = metrics_of(a)
    assert m.days_since_last_activity == 500
    assert m.active_days_365d == 0


def test_usage_after_d_is_ignored(f1):
    a = AccountFactory(start_date=day(10))
    usage(a, f1, D + dt.timedelta(days=1), events=9)
    m = metrics_of(a)
    assert m.events_30d == 0 and m.days_since_last_activity == 10


def test_active_months_count_calendar_months(f1):
    a = AccountFactory()
    for d in (
        dt.date(2026, 6, 1),
        dt.date(2026, 6, 30),
        dt.date(2026, 5, 31),
        dt.date(2025, 9, 3),
        dt.date(2025, 7, 1),
    ):
        usage(a, f1, d)
    usage(a, f1, dt.date(2025, 6, 30))  # D-365: outside the window
    m = metrics_of(a)
    assert m.active_days_365d == 5
    assert m.active_months_365d == 4  # 2026-06, 2026-05, 2025-09, 2025-07


def test_nps_latest_on_or_before_d(f1):
    a = AccountFactory()
    NpsResponseFactory(account=a, date=day(40), score=3)
    NpsResponseFactory(account=a, date=D, score=8)
    NpsResponseFactory(account=a, date=D + dt.timedelta(days=1), score=1)
    assert metrics_of(a).nps_latest == 8
    assert metrics_of(a, as_of=day(1)).nps_latest == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_grouped_query_reads_in_key_order_in_one_process_unless_the_chunk_is_alone(f1):
    """While other chunks compute (Celery workers, RECOMPUTE_JOBS > 1) a chunk's grouped query runs
    without parallel workers, from the primary key in order (no sort); a chunk computed alone
    keeps PostgreSQL's own plan. The settings do not outlive the query."""
    a = AccountFactory()
    usage(a, f1, day(3), events=2)
    seen = []

    def plan(execute, sql, params, many, context):
        if "GROUP BY account_id" in sql and "COUNT(DISTINCT" in sql and not sql.startswith("EXPLAIN"):
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('enable_sort')")
                sort = cursor.fetchone()[0]
                cursor.execute("EXPLAIN " + sql, params)
                seen.append((sort, "\n".join(row[0] for row in cursor.fetchall())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(plan):
        (facts,) = compute_facts(D, a.pk, a.pk, [f1.pk])
        compute_facts(D, a.pk, a.pk, [f1.pk], parallel_query=True)
    assert facts.metrics["active_days_30d"] == 1
    (beside, text), (alone, _) = seen
    assert beside == "off" and alone == "on"
    assert "Gather" not in text and "Sort" not in text and "Bitmap" not in text
    assert "accounts_usagedaily_pkey" in text
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_sort'), current_setting('enable_bitmapscan')")
        assert cursor.fetchone() == ("on", "on")
