"""Fresh between nights (SPEC §4.5): every write path marks its accounts; one debounced incremental
run per burst; incremental == full for the touched accounts (every column, memberships, rollups);
untouched accounts' rows not rewritten; the lock shared with full runs; failures retry and lose no
mark; a real Celery worker runs the debounced task end to end."""

import datetime as dt
import io
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.freshness import dirty_accounts_mark
from accounts.imports import import_accounts, import_nps, import_usage
from accounts.models import Account, DirtyAccount
from configuration.services import config_apply
from dashboards import services as dashboards_services
from dashboards.journeys import STUCK_DAYS
from dashboards.models import RevenueDay, VerticalDay
from dashboards.rollups import StuckSummary
from health.models import AccountMetrics, HealthScore, PublishedDay
from people.models import ApiToken
from people.services import api_token_create
from pipeline import freshness
from pipeline import tasks as pipeline_tasks
from pipeline.models import RecomputeRun
from pipeline.services import RecomputeRefused, recompute, recompute_execute, recompute_start
from segments.models import SegmentDay, SegmentMembership, TouchModelDay

pytestmark = pytest.mark.django_db

CONFIG = {
    "version": 1,
    "verticals": [{"name": "Education"}, {"name": "Tech Sales"}],
    "use_cases": [{"name": "PTA meetings"}, {"name": "Demo scheduling"}],
    "features": [{"key": "scheduling", "name": "Scheduling"}, {"key": "reminders", "name": "Reminders"}],
    "tiers": [{"name": "Tier 1", "min_arr": 100000}, {"name": "Tier 2", "min_arr": 0}],
    "scorecards": [
        {
            "name": "Edu",
            "vertical": "Education",
            "measures": [
                {"metric": "active_days_30d", "weight": 2, "red": 0, "green": 6},
                {"metric": "nps_latest", "weight": 1, "red": 0, "green": 10},
            ],
        },
        {
            "name": "Tech",
            "vertical": "Tech Sales",
            "measures": [{"metric": "events_30d", "weight": 1, "red": 0, "green": 40}],
        },
    ],
    "segments": [
        {
            "name": "Busy",
            "touch_model": "high",
            "priority": 5,
            "rule": {"field": "active_days_30d", "op": "gte", "value": 3},
        },
        {
            "name": "Healthy",
            "touch_model": "mid",
            "priority": 1,
            "rule": {"field": "health_band", "op": "eq", "value": "healthy"},
        },
        {"name": "Big", "rule": {"field": "arr", "op": "gte", "value": 100000}},
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

N = 12  # accounts E0…E5 (Education) and T0…T5 (Tech Sales)


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode())


def accounts_csv(overrides: dict | None = None) -> str:
    lines = ["external_id,name,vertical,use_cases,arr,owner_email,employees,persona,seats,start_date,renewal_date"]
    for i in range(N):
        ext = f"{'E' if i < N // 2 else 'T'}{i % (N // 2)}"
        row = {
            "vertical": "Education" if i < N // 2 else "Tech Sales",
            "use_cases": "PTA meetings" if i < N // 2 else "Demo scheduling",
            "arr": str(20000 * (i + 1)),
            "seats": "10",
        }
        row.update((overrides or {}).get(ext, {}))
        lines.append(
            f"{ext},Account {ext},{row['vertical']},{row['use_cases']},{row['arr']},csm@x.io,,,{row['seats']},2025-01-01,2027-01-01"
        )
    return "\n".join(lines) + "\n"


def usage_csv(rows) -> str:
    return "account_external_id,date,feature,events,active_users\n" + "".join(
        f"{e},{d},{f},{n},1\n" for e, d, f, n in rows
    )


@pytest.fixture
def world():
    """Twelve accounts with varied usage and a full run of today published."""
    today = timezone.localdate()
    config_apply(document=CONFIG)
    import_accounts(csv_bytes(accounts_csv()))
    rows = []
    for i in range(N):
        ext = f"{'E' if i < N // 2 else 'T'}{i % (N // 2)}"
        for n in range(i % 5):
            rows.append((ext, today - dt.timedelta(days=2 * n), "scheduling", n + 1))
    import_usage(csv_bytes(usage_csv(rows)))
    import_nps(csv_bytes("account_external_id,date,score,comment\nE1,%s,3,meh\n" % (today - dt.timedelta(days=3))))
    recompute(as_of=today)
    assert not DirtyAccount.objects.exists()  # the full run of today absorbed the imports' marks
    return today


def ext_ids(qs) -> set[str]:
    return set(Account.objects.filter(pk__in=qs.values("account_id")).values_list("external_id", flat=True))


# --- each write path marks its accounts ------------------------------------------------------------


@pytest.fixture
def token(cs_admin):
    return api_token_create(user=cs_admin, name="pipeline", scope=ApiToken.SCOPE_INGEST)[1]


def test_each_import_and_api_write_marks_its_accounts(
    world, cs_admin, client_for, token, tmp_path, django_capture_on_commit_callbacks
):
    today = world
    marks = DirtyAccount.objects

    (tmp_path / "u.csv").write_text(usage_csv([("E0", today, "scheduling", 5), ("E0", today, "reminders", 1)]))
    call_command("import_usage", str(tmp_path / "u.csv"), stdout=StringIO())
    assert ext_ids(marks) == {"E0"} and marks.get().reason == "usage"

    # --skip-invalid takes the checked COPY path; the bad row's account is not marked.
    (tmp_path / "u2.csv").write_text(usage_csv([("E1", today, "scheduling", 5), ("T0", "2026-13-01", "scheduling", 1)]))
    call_command("import_usage", str(tmp_path / "u2.csv"), "--skip-invalid", stdout=StringIO())
    assert ext_ids(marks) == {"E0", "E1"}

    (tmp_path / "n.csv").write_text(f"account_external_id,date,score\nE2,{today},9\n")
    call_command("import_nps", str(tmp_path / "n.csv"), stdout=StringIO())
    assert ext_ids(marks.filter(reason="nps")) == {"E2"}

    (tmp_path / "a.csv").write_text(accounts_csv({"E3": {"arr": "99"}}))
    call_command("import_accounts", str(tmp_path / "a.csv"), stdout=StringIO())
    assert marks.filter(reason="account").count() == N  # every account of the file

    marks.all().delete()
    upload = io.BytesIO(usage_csv([("T1", today, "scheduling", 3)]).encode())
    upload.name = "usage.csv"
    with django_capture_on_commit_callbacks() as queued:  # the admin import is a task queued on commit
        client_for(cs_admin).post(reverse("admin:accounts_import"), {"kind": "usage", "file": upload})
    queued[0]()  # run the import task alone: the incremental run it schedules would consume the marks
    assert ext_ids(marks) == {"T1"}

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (
        api.post(
            "/api/v1/usage/",
            [{"account_external_id": "T2", "date": str(today), "feature": "scheduling", "events": 2}],
            format="json",
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/api/v1/nps/", [{"account_external_id": "T3", "date": str(today), "score": 1}], format="json"
        ).status_code
        == 201
    )
    assert ext_ids(marks) == {"T1", "T2", "T3"}

    marks.all().delete()
    admin_api = APIClient()
    admin_api.force_authenticate(cs_admin)
    t4 = Account.objects.get(external_id="T4")
    assert admin_api.patch(f"/api/v1/accounts/{t4.pk}/", {"arr": "5"}, format="json").status_code in (200, 201)
    created = admin_api.post(
        "/api/v1/accounts/", {"external_id": "N1", "name": "New", "vertical": "Education", "arr": "1"}, format="json"
    )
    assert created.status_code == 201, created.data
    assert ext_ids(marks) == {"T4", "N1"}

    marks.all().delete()
    admin_api.post(f"/api/v1/accounts/{t4.pk}/drivers/", {"feature": "scheduling", "note": "says so"}, format="json")
    assert ext_ids(marks) == {"T4"} and marks.get().reason == "driver"

    marks.all().delete()
    t5 = Account.objects.get(external_id="T5")
    page = client_for(cs_admin).get(reverse("admin:accounts_account_change", args=[t5.pk]))
    assert page.status_code == 200
    form = {
        "external_id": "T5",
        "name": "Renamed",
        "vertical": t5.vertical_id,
        "arr": "1",
        "persona": "",
        "accountusecase_set-TOTAL_FORMS": "0",
        "accountusecase_set-INITIAL_FORMS": "0",
    }
    saved = client_for(cs_admin).post(reverse("admin:accounts_account_change", args=[t5.pk]), form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert ext_ids(marks) == {"T5"} and marks.get().reason == "account"


def test_a_failed_import_marks_nothing(world):
    result = import_usage(csv_bytes(usage_csv([("E0", world, "scheduling", 1), ("NOPE", world, "scheduling", 1)])))
    assert result.error_count and not DirtyAccount.objects.exists()


def test_marking_is_one_statement_and_keeps_the_oldest_mark(world, django_assert_num_queries):
    ids = list(Account.objects.values_list("pk", flat=True))
    with django_assert_num_queries(1):
        dirty_accounts_mark(ids=ids, reason="usage")
    first = DirtyAccount.objects.get(account_id=ids[0]).marked_at
    dirty_accounts_mark(ids=ids[:1], reason="nps")
    again = DirtyAccount.objects.get(account_id=ids[0])
    assert again.marked_at == first and again.reason == "nps"
    # A claimed mark touched again is released and dated now: its claiming run may miss the change.
    DirtyAccount.objects.filter(account_id=ids[0]).update(claimed_by=999)
    dirty_accounts_mark(ids=ids[:1], reason="usage")
    again = DirtyAccount.objects.get(account_id=ids[0])
    assert again.claimed_by is None and again.marked_at > first


def test_freshness_switched_off_marks_nothing(world, settings):
    settings.FRESHNESS_ENABLED = False
    import_usage(csv_bytes(usage_csv([("E0", world, "scheduling", 1)])))
    assert not DirtyAccount.objects.exists()
    assert freshness.incremental_schedule() is None


# --- debounce: one run per burst ---------------------------------------------------------------


def test_a_burst_of_20_ingest_calls_gives_one_incremental_run(world, token, django_capture_on_commit_callbacks):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    externals = [f"{p}{i}" for p in "ET" for i in range(N // 2)]
    with mock.patch.object(pipeline_tasks.incremental_run_task, "apply_async") as apply_async:
        for n in range(20):
            row = {"account_external_id": externals[n % N], "date": str(world), "feature": "reminders", "events": n + 1}
            with django_capture_on_commit_callbacks(execute=True):
                assert api.post("/api/v1/usage/", [row], format="json").status_code == 201
    runs = RecomputeRun.objects.filter(trigger="incremental")
    assert runs.count() == 1 and runs.get().status == "scheduled"
    apply_async.assert_called_once_with((runs.get().pk,), countdown=30)
    assert DirtyAccount.objects.count() == N

    run = freshness.incremental_execute(run_id=runs.get().pk)
    assert (run.status, run.accounts_scored, run.claimed) == ("succeeded", N, N)
    assert not DirtyAccount.objects.exists()
    # Writes after the run has started schedule the next one.
    with (
        mock.patch.object(pipeline_tasks.incremental_run_task, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        api.post(
            "/api/v1/usage/",
            [{"account_external_id": "E0", "date": str(world), "feature": "reminders", "events": 99}],
            format="json",
        )
    assert apply_async.call_count == 1 and RecomputeRun.objects.filter(trigger="incremental").count() == 2


# --- incremental == full ------------------------------------------------------------------------

SKIP = {"id", "computed_at", "inputs_through", "written_at"}  # when, not what


def snapshot(day):
    def rows(model, **filters):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in SKIP]
        return sorted(model.objects.filter(**filters).values_list(*fields), key=repr)

    return {
        "metrics": rows(AccountMetrics, as_of=day),
        "health": rows(HealthScore, as_of=day),
        "memberships": sorted(
            SegmentMembership.objects.values_list("segment_id", "account_id", "entered_on", "left_on")
        ),
        "touch": rows(TouchModelDay, day=day),
        "vertical_days": rows(VerticalDay, day=day),
        "segment_days": rows(SegmentDay, day=day),
        "revenue_days": rows(RevenueDay, day=day),
    }


def _xmins(day) -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT account_id, xmin::text FROM {HealthScore._meta.db_table} WHERE as_of = %s", [day])
        return dict(cursor.fetchall())


def _changes(today):
    """Usage, NPS and account writes that move scores, bands, segments, touch models and verticals."""
    import_usage(
        csv_bytes(
            usage_csv(
                [("E0", today - dt.timedelta(days=d), "scheduling", 4) for d in range(5)]  # E0 becomes busy and healthy
                + [("T2", today, "scheduling", 60), ("E4", today - dt.timedelta(days=1), "reminders", 9)]
            )
        )
    )
    import_nps(csv_bytes(f"account_external_id,date,score,comment\nE1,{today},10,great\n"))
    # T3 moves vertical (both verticals' rollups change) and becomes Big; E5 churns.
    text = accounts_csv({"T3": {"vertical": "Education", "use_cases": "PTA meetings", "arr": "250000"}})
    only = [line for line in text.splitlines() if line.startswith(("external_id", "T3"))]
    import_accounts(csv_bytes("\n".join(only) + "\n"))
    Account.objects.filter(external_id="E5").update(churned_on=today)
    dirty_accounts_mark(ids=Account.objects.filter(external_id="E5").values("pk"), reason="account")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_incremental_equals_full_for_the_touched_accounts_and_leaves_the_others_alone(world):
    today = world
    before = snapshot(today)
    xmins = _xmins(today)
    _changes(today)
    touched = set(DirtyAccount.objects.values_list("account_id", flat=True))
    assert ext_ids(DirtyAccount.objects) == {"E0", "T2", "E4", "E1", "T3", "E5"}

    run = freshness.incremental_schedule()
    result = freshness.incremental_execute(run_id=run.pk)
    assert result.status == "succeeded" and result.accounts_scored == 5  # E5 churned: no score
    incremental = snapshot(today)
    assert incremental != before
    after = _xmins(today)
    untouched = set(xmins) - touched
    assert untouched and {a: after[a] for a in untouched} == {a: xmins[a] for a in untouched}
    assert all(after[a] != xmins[a] for a in touched)
    assert PublishedDay.objects.get(day=today).refreshed_at is not None
    assert HealthScore.objects.filter(as_of=today, account_id__in=touched, computed_at__isnull=False).count() == len(
        touched
    )

    recompute(as_of=today)  # the full run of the same day
    full = snapshot(today)
    for key in full:
        assert incremental[key] == full[key], key
    assert VerticalDay.objects.filter(day=today).count() == 2


@pytest.fixture
def stuck_world(world, monkeypatch):
    """`world` with results STUCK_DAYS before today too, so Education accounts are stuck in
    'Booked'; the rollup keeps the 2 largest stuck accounts (E5, E4) per vertical."""
    today = world
    monkeypatch.setattr(dashboards_services, "STUCK_LIMIT", 2)
    then = today - dt.timedelta(days=STUCK_DAYS)
    import_usage(csv_bytes(usage_csv([(f"E{i}", then - dt.timedelta(days=1), "scheduling", 1) for i in range(N // 2)])))
    recompute(as_of=then)
    recompute(as_of=today)
    stuck = StuckSummary.from_json(VerticalDay.objects.get(day=today, vertical__name="Education").stuck)
    assert stuck.accounts == 6 and stuck.top == [Account.objects.get(external_id=e).pk for e in ("E5", "E4")]
    return today


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_usage_and_nps_only_runs_move_the_rollups_by_difference_as_a_full_run_writes_them(stuck_world):
    """Usage and NPS marks only (no account field changed): SegmentDay and VerticalDay are moved by
    the touched accounts' difference, not rewritten, and equal a full run's in every column
    (counts, ARR, histogram, median, use cases, journey stages, the stuck count and top)."""
    today = stuck_world

    def incremental_by_difference():
        rewrites = mock.patch.multiple(
            freshness.dashboards, vertical_days_rollup=mock.DEFAULT, revenue_day_write=mock.DEFAULT
        )
        with rewrites as rewriters, mock.patch.object(freshness.segments, "segment_days_write") as segment_days:
            run = freshness.incremental_execute(run_id=freshness.incremental_schedule().pk)
        assert run.status == "succeeded"
        assert not segment_days.called and not any(m.called for m in rewriters.values())  # moved, not rewritten
        return snapshot(today)

    # 1. E5 (the top stuck account) reaches the journey's last stage: the top refills from below
    # (E3); E0 gets busy and healthy (enters segments, changes bands, histogram and median);
    # T2's events move its score; E1's NPS its band.
    before = snapshot(today)
    import_usage(
        csv_bytes(
            usage_csv(
                [("E5", today, "reminders", 9), ("T2", today, "scheduling", 60)]
                + [("E0", today - dt.timedelta(days=d), "scheduling", 4) for d in range(5)]
            )
        )
    )
    import_nps(csv_bytes(f"account_external_id,date,score,comment\nE1,{today},10,great\n"))
    assert set(DirtyAccount.objects.values_list("reason", flat=True)) == {"usage", "nps"}
    incremental = incremental_by_difference()
    assert incremental["vertical_days"] != before["vertical_days"]
    assert incremental["segment_days"] != before["segment_days"]
    assert incremental["memberships"] != before["memberships"]
    education = StuckSummary.from_json(VerticalDay.objects.get(day=today, vertical__name="Education").stuck)
    assert education.accounts == 5 and education.top == [Account.objects.get(external_id=e).pk for e in ("E4", "E3")]
    recompute(as_of=today)
    full = snapshot(today)
    for key in full:
        assert incremental[key] == full[key], key

    # 2. E2 (stuck, below the top) leaves the stage, E1 stays stuck with more usage and T0 gets
    # its first: the top keeps its accounts without a pass over the vertical.
    import_usage(csv_bytes(usage_csv([("E2", today, "reminders", 9), ("T0", today, "scheduling", 30)])))
    import_usage(csv_bytes(usage_csv([("E1", today - dt.timedelta(days=d), "reminders", 1) for d in range(3)])))
    with mock.patch.object(dashboards_services, "stuck_metrics", wraps=dashboards_services.stuck_metrics) as passes:
        incremental = incremental_by_difference()
    assert passes.call_count == 2  # the touched accounts' share before and after: no pass over the vertical
    recompute(as_of=today)
    full = snapshot(today)
    for key in full:
        assert incremental[key] == full[key], key


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_statistics_older_than_the_days_full_run_are_refreshed_by_the_next_incremental_run_only(world):
    """Statistics that predate the day's full run make PostgreSQL read the whole day for a few
    ids: the first incremental run after it ANALYZEs the day's tables (key columns only), the
    next ones find them current and do not."""

    def analyzes() -> list[str]:
        dirty_accounts_mark(ids=Account.objects.filter(external_id="E0").values("pk"), reason="usage")
        with CaptureQueriesContext(connection) as queries:
            assert freshness.incremental_execute(run_id=freshness.incremental_schedule().pk).status == "succeeded"
        return sorted(q["sql"].split(" (")[0] for q in queries.captured_queries if q["sql"].startswith("ANALYZE"))

    tables = ["health_accountmetrics", "health_healthscore", "segments_segmentmembership", "segments_touchmodelday"]
    assert analyzes() == [f"ANALYZE {t}" for t in tables]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # read the statistics' timestamps afresh
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'health_healthscore' AND attname = 'as_of'")
        assert cursor.fetchone()[0] == 1
    assert analyzes() == []


def test_a_pending_account_mark_keeps_its_reason_when_usage_follows(world):
    """A later usage mark must not hide that account fields changed: the run would move the
    rollups by a difference computed with the new ARR or vertical."""
    ids = Account.objects.filter(external_id="E0").values("pk")
    dirty_accounts_mark(ids=ids, reason="account")
    dirty_accounts_mark(ids=ids, reason="usage")
    assert DirtyAccount.objects.get().reason == "account"


def test_a_day_without_published_results_gets_a_full_run(world):
    today = world
    PublishedDay.objects.all().delete()
    HealthScore.objects.all().delete()
    dirty_accounts_mark(ids=Account.objects.filter(external_id="E0").values("pk"), reason="usage")
    run = freshness.incremental_execute(run_id=freshness.incremental_schedule().pk)
    assert (run.status, run.trigger) == ("succeeded", "incremental-full")
    assert HealthScore.objects.filter(as_of=today).count() == N and PublishedDay.objects.filter(day=today).exists()
    assert not DirtyAccount.objects.exists()


# --- one lock for full and incremental runs ------------------------------------------------------


def test_a_full_run_in_progress_makes_the_incremental_run_wait_and_absorbs_older_marks(world):
    today = world
    dirty_accounts_mark(ids=Account.objects.filter(external_id="E0").values("pk"), reason="usage")
    scheduled = freshness.incremental_schedule()
    full = recompute_start(as_of=today, trigger="nightly")  # takes the lock and E0's mark
    dirty_accounts_mark(ids=Account.objects.filter(external_id="T0").values("pk"), reason="usage")  # after its start
    with pytest.raises(freshness.IncrementalBusy):
        freshness.incremental_execute(run_id=scheduled.pk)
    scheduled.refresh_from_db()
    assert scheduled.status == "scheduled" and scheduled.scheduled_lock
    assert freshness.incremental_schedule() is None  # writes meanwhile join the waiting run

    recompute_execute(run_id=full.pk)
    assert ext_ids(DirtyAccount.objects) == {"T0"}  # E0 absorbed by the full run; T0 came later
    run = freshness.incremental_execute(run_id=scheduled.pk)
    assert (run.status, run.claimed) == ("succeeded", 1)
    assert not DirtyAccount.objects.exists()


def test_an_incremental_run_in_progress_refuses_a_full_run_and_the_night_retries(world, monkeypatch):
    today = world
    dirty_accounts_mark(ids=Account.objects.filter(external_id="E0").values("pk"), reason="usage")
    seen = {}

    def during_publish(**kwargs):
        with pytest.raises(RecomputeRefused):
            recompute(as_of=today)
        with (
            mock.patch.object(pipeline_tasks.nightly_recompute, "retry", side_effect=RuntimeError("retry")) as retry,
            pytest.raises(RuntimeError, match="retry"),
        ):
            pipeline_tasks.nightly_recompute.run()
        seen["retry"] = retry.call_args

    monkeypatch.setattr(freshness, "_plays_step", during_publish)
    run = freshness.incremental_execute(run_id=freshness.incremental_schedule().pk)
    assert run.status == "succeeded" and seen["retry"].kwargs == {"countdown": pipeline_tasks.INCREMENTAL_WAIT}
    assert recompute(as_of=today).status == "succeeded"  # free again once it has published


# --- failures -----------------------------------------------------------------------------------


def test_a_failing_incremental_run_keeps_results_and_marks_and_retries(world, monkeypatch):
    today = world
    before = snapshot(today)
    _changes(today)
    marks = set(DirtyAccount.objects.values_list("account_id", flat=True))
    run = freshness.incremental_schedule()
    calls = {"n": 0}
    real = freshness.segments.segments_recompute_accounts

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(freshness.segments, "segments_recompute_accounts", flaky)
    with (
        mock.patch.object(pipeline_tasks.incremental_run_task, "retry", side_effect=RuntimeError("retrying")) as retry,
        pytest.raises(RuntimeError, match="retrying"),
    ):
        pipeline_tasks.incremental_run_task.run(run.pk)
    assert retry.call_args.kwargs["countdown"] == 30  # FRESHNESS_DEBOUNCE_SECONDS × 2⁰
    run.refresh_from_db()
    assert run.status == "scheduled" and "database went away" in run.error
    assert set(DirtyAccount.objects.filter(claimed_by__isnull=True).values_list("account_id", flat=True)) == marks
    assert snapshot(today)["health"] == before["health"]  # the previous results stand

    pipeline_tasks.incremental_run_task.run(run.pk)  # the retry
    run.refresh_from_db()
    assert run.status == "succeeded" and not DirtyAccount.objects.exists()


def test_healthz_reports_the_age_of_the_oldest_dirty_mark(world, client):
    assert client.get("/healthz").json()["oldest_dirty_mark_seconds"] is None
    dirty_accounts_mark(ids=Account.objects.values("pk")[:2], reason="usage")
    DirtyAccount.objects.update(marked_at=timezone.now() - dt.timedelta(seconds=90))
    body = client.get("/healthz").json()
    assert 89 <= body["oldest_dirty_mark_seconds"] < 120 and body["dirty_accounts"] == 2


# --- visible freshness ----------------------------------------------------------------------------


def test_pages_show_when_each_account_was_scored(world, client_for, csm, cs_admin):
    today = world
    e0 = Account.objects.get(external_id="E0")
    import_usage(csv_bytes(usage_csv([("E0", today, "reminders", 3)])))
    freshness.incremental_execute(run_id=freshness.incremental_schedule().pk)
    score = HealthScore.objects.get(account=e0, as_of=today)
    assert score.computed_at is not None and score.inputs_through <= score.computed_at

    page = client_for(csm).get(f"/accounts/{e0.pk}/").content.decode()
    assert "scored 0\xa0minutes ago from data received up to" in page
    assert f"usage up to {today:%Y-%m-%d}" in page
    listing = client_for(csm).get("/accounts/?q=E0").content.decode()
    assert "scored 0\xa0minutes ago" in listing and f"usage up to {today:%Y-%m-%d}" in listing

    dirty_accounts_mark(ids=[e0.pk], reason="usage")
    admin = client_for(cs_admin)
    pending = admin.get(reverse("admin:accounts_dirtyaccount_changelist")).content.decode()
    assert "Account E0" in pending and "The last incremental runs" in pending
    runs = admin.get(reverse("admin:pipeline_recomputerun_changelist") + "?trigger__startswith=incremental")
    assert runs.status_code == 200 and "incremental" in runs.content.decode()
