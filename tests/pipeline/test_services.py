"""The recompute as a whole: end to end from CSVs to the export, idempotency, one run at a time,
failed runs leaving results untouched, and a query count that does not grow with accounts."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from health import services
from health.models import AccountMetrics, HealthScore, PublishedDay
from pipeline.management.commands.recompute import history_dates
from pipeline.models import RecomputeRun
from pipeline.services import RecomputeRefused, recompute
from segments.models import Segment, SegmentMembership, TouchModelDay
from tests.factories import AccountFactory, FeatureFactory, VerticalFactory, usage

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)

CONFIG = {
    "version": 1,
    "verticals": [{"name": "Education"}, {"name": "Tech Sales"}],
    "use_cases": [{"name": "PTA meetings"}, {"name": "Board meetings"}, {"name": "Demo scheduling"}],
    "features": [{"key": "scheduling", "name": "Scheduling"}, {"key": "reminders", "name": "Reminders"}],
    "tiers": [
        {"name": "Tier 1", "min_arr": 100000},
        {"name": "Tier 2", "min_arr": 20000},
        {"name": "Tier 3", "min_arr": 0},
    ],
    "scorecards": [
        {
            "name": "Edu",
            "vertical": "Education",
            "measures": [
                {"metric": "active_days_90d", "weight": 2, "red": 1, "green": 5},
                {"metric": "days_since_last_activity", "weight": 1, "red": 120, "green": 30},
            ],
        },
        {
            "name": "Tech",
            "vertical": "Tech Sales",
            "measures": [{"metric": "active_days_30d", "weight": 1, "red": 5, "green": 15}],
        },
    ],
    "segments": [
        {
            "name": "Healthy",
            "touch_model": "mid",
            "priority": 1,
            "rule": {"field": "health_band", "op": "eq", "value": "healthy"},
        },
        {"name": "Big", "touch_model": "high", "priority": 10, "rule": {"field": "arr", "op": "gte", "value": 100000}},
    ],
    "journeys": [
        {
            "vertical": "Education",
            "use_case": "PTA meetings",
            "stages": [
                {"name": "Booked", "features": ["scheduling"], "min_events_90d": 1},
                {"name": "Reminded", "features": ["reminders"], "min_events_90d": 5},
            ],
        }
    ],
}

ACCOUNTS = """external_id,name,vertical,use_cases,arr,owner_email,employees,persona,seats,start_date,renewal_date,churned_on
E1,Lincoln High,Education,PTA meetings;Board meetings,12000,jo@school.org,300,manager,10,2025-01-01,2026-08-01,
T1,Acme,Tech Sales,Demo scheduling,150000,sam@acme.io,,executive,20,2025-01-01,2027-01-01,
C1,Churn Co,Tech Sales,Demo scheduling,30000,,,,5,2025-01-01,,2026-06-01
"""
USAGE = "account_external_id,date,feature,events,active_users\n" + "".join(
    [
        "E1,2026-06-01,scheduling,2,3\n",
        "E1,2026-04-15,scheduling,1,1\n",
        "E1,2026-06-20,reminders,4,2\n",
        "C1,2026-05-01,scheduling,9,5\n",
    ]
    + [f"T1,2026-06-{d:02d},scheduling,5,8\n" for d in range(11, 31, 2)]  # 10 active days in the last 30
)


def test_end_to_end_from_csv_to_export(tmp_path):
    for name, text in (("config.json", json.dumps(CONFIG)), ("accounts.csv", ACCOUNTS), ("usage.csv", USAGE)):
        (tmp_path / name).write_text(text)
    call_command("apply_config", str(tmp_path / "config.json"), stdout=StringIO())
    call_command("import_accounts", str(tmp_path / "accounts.csv"), stdout=StringIO())
    call_command("import_usage", str(tmp_path / "usage.csv"), stdout=StringIO())
    out = StringIO()
    call_command("recompute", "--as-of", "2026-06-30", stdout=out)
    assert out.getvalue().startswith("recomputed 2026-06-30: 3 accounts, 2 scored")
    export = StringIO()
    call_command("export_accounts", "--as-of", "2026-06-30", stdout=export)
    # By hand: E1 active_days_90d 3 → 50, 10 days since last → 100, (2×50 + 100)/3 = 66.7 → 67 neutral;
    # journey: scheduling 3 ≥ 1 (Booked), reminders 4 < 5. T1: 10 active days → 50. C1 churned.
    assert export.getvalue().splitlines() == [
        "external_id,name,vertical,primary_use_case,arr,tier,health_score,health_band,scorecard,segments,touch_model,journey_stage",
        "C1,Churn Co,Tech Sales,Demo scheduling,30000.00,Tier 2,,churned,,,,",
        "E1,Lincoln High,Education,PTA meetings,12000.00,Tier 3,67,neutral,Edu,,,Booked",
        "T1,Acme,Tech Sales,Demo scheduling,150000.00,Tier 1,50,neutral,Tech,Big,high,",
    ]
    segment_only = StringIO()
    call_command("export_accounts", "--as-of", "2026-06-30", "--segment", "big", stdout=segment_only)
    assert [line.split(",")[0] for line in segment_only.getvalue().splitlines()] == ["external_id", "T1"]


def state():
    return (
        sorted(HealthScore.objects.values_list("account_id", "as_of", "score", "band", "measures")),
        sorted(TouchModelDay.objects.values_list("account_id", "day", "touch_model")),
        sorted(AccountMetrics.objects.values_list("account_id", "as_of", "active_days_30d", "events_30d")),
        sorted(SegmentMembership.objects.values_list("segment_id", "account_id", "entered_on", "left_on")),
    )


def test_running_a_date_twice_gives_the_same_state(world):
    recompute(as_of=D)
    first = state()
    recompute(as_of=D)
    assert state() == first
    assert RecomputeRun.objects.filter(status="succeeded").count() == 2


def test_a_second_run_is_refused_while_one_is_in_progress(world):
    busy = RecomputeRun.objects.create(as_of=D, status=RecomputeRun.Status.RUNNING)
    with pytest.raises(RecomputeRefused, match=f"run {busy.pk} for {D} is still in progress"):
        recompute(as_of=D)
    refused = RecomputeRun.objects.get(status=RecomputeRun.Status.REFUSED)
    assert refused.active_lock is None and "still in progress" in refused.error
    with pytest.raises(CommandError, match="still in progress"):
        call_command("recompute", "--as-of", "2026-06-30", stdout=StringIO())
    assert not HealthScore.objects.exists()


def test_an_abandoned_run_does_not_block_forever(world):
    stuck = RecomputeRun.objects.create(as_of=D, status=RecomputeRun.Status.RUNNING)
    RecomputeRun.objects.filter(pk=stuck.pk).update(created_at=stuck.created_at - dt.timedelta(days=1))
    recompute(as_of=D)
    stuck.refresh_from_db()
    assert stuck.status == "failed" and "abandoned" in stuck.error


def test_a_failing_chunk_leaves_the_previous_results_untouched(world, monkeypatch):
    recompute(as_of=D)
    before = state()
    # New usage would change the results — but the second chunk of the next run fails.
    usage(world[1][0], FeatureFactory(key="reminders"), D, events=50)
    real = services.compute_facts
    calls = []

    def flaky(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "compute_facts", flaky)
    with pytest.raises(RuntimeError):
        recompute(as_of=D, chunk_size=1)
    assert state() == before
    run = RecomputeRun.objects.latest("created_at")
    assert run.status == "failed" and "worker lost" in run.error and run.active_lock is None
    assert not run.chunks.exists()
    monkeypatch.undo()
    recompute(as_of=D)  # the lock was released: the next run goes ahead
    assert state() != before


def test_a_failing_segment_step_rolls_back_the_whole_publish(world, monkeypatch):
    recompute(as_of=D)
    before = state()
    Segment.objects.update(rule={"field": "arr", "op": "gte", "value": 0})

    def boom(*args, **kwargs):
        raise RuntimeError("segments broke")

    monkeypatch.setattr("segments.services.segments_range_recompute", boom)
    with pytest.raises(RuntimeError):
        recompute(as_of=D)
    assert state() == before


def add_accounts(n):
    vertical = VerticalFactory(name="Healthcare")
    f = FeatureFactory(key="booking_pages")
    for i in range(n):
        a = AccountFactory(vertical=vertical)
        usage(a, f, D - dt.timedelta(days=i % 20), events=i + 1)


def fresh_run():
    for model in (HealthScore, AccountMetrics, SegmentMembership, TouchModelDay, PublishedDay, RecomputeRun):
        model.objects.all().delete()
    with CaptureQueriesContext(connection) as ctx:
        recompute(as_of=D, chunk_size=1000)
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_accounts(world, django_assert_num_queries):
    add_accounts(3)
    queries = fresh_run()
    assert HealthScore.objects.count() == 7
    add_accounts(20)
    for model in (HealthScore, AccountMetrics, SegmentMembership, TouchModelDay, PublishedDay, RecomputeRun):
        model.objects.all().delete()
    with django_assert_num_queries(queries):
        recompute(as_of=D, chunk_size=1000)
    assert HealthScore.objects.count() == 27


def test_nightly_schedule_is_in_the_admin_database_at_02_00():
    task = PeriodicTask.objects.get(name="nightly-recompute")
    assert task.task == "pipeline.tasks.nightly_recompute" and task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("2", "0")
    assert task.expire_seconds == 6 * 60 * 60


def test_history_recomputes_the_earlier_dates_oldest_first(world):
    end = dt.date(2026, 6, 30)
    dates = history_dates(end, 60)
    assert dates == sorted(dates) and dates[-1] == end
    assert {end - dt.timedelta(days=n) for n in range(32)} <= set(dates)  # every day of the last month
    assert end - dt.timedelta(days=35) in dates and end - dt.timedelta(days=36) not in dates  # weekly before
    out = StringIO()
    call_command("recompute", "--as-of", "2026-06-30", "--history", "10", stdout=out)
    assert sorted(HealthScore.objects.values_list("as_of", flat=True).distinct()) == [
        end - dt.timedelta(days=n) for n in range(10, -1, -1)
    ]
    assert "history: 10 earlier dates recomputed, 2026-06-20 to 2026-06-29" in out.getvalue()
    with pytest.raises(CommandError, match="--history: -1"):
        call_command("recompute", "--history", "-1", stdout=StringIO())
