"""Issue 15 §1 and §7 without a worker: chunks stored once per run, publish only when every chunk is
stored (and once), the watchdog freeing a stalled run's lock (marks and staging given back), cancel,
a broker that cannot take the run, and the recompute date checked in the API, the admin and the
command. The same faults through a real worker: tests/pipeline/test_faults.py."""

import datetime as dt
import socket
import time
from io import StringIO

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import DirtyAccount
from configuration.services import config_apply
from cs_portal.celery import app as celery_app
from health.models import HealthScore, PublishedDay
from pipeline import services, tasks
from pipeline.models import RecomputeChunk, RecomputeRun, StagedResult
from pipeline.services import recompute
from tests.factories import AccountFactory, FeatureFactory, usage
from tests.pipeline.celery_pools import celery_pools_reset

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
OLDEST = TODAY - dt.timedelta(days=40)


@pytest.fixture
def world():
    feature = FeatureFactory(key="scheduling")
    accounts = [AccountFactory(external_id=f"A{i}") for i in range(4)]
    for i, account in enumerate(accounts):
        for n in range(i * 3):
            usage(account, feature, TODAY - dt.timedelta(days=n))
    usage(accounts[0], feature, OLDEST)
    config_apply(
        document={
            "version": 1,
            "scorecards": [
                {"name": "Any", "measures": [{"metric": "active_days_30d", "weight": 1, "red": 0, "green": 6}]}
            ],
        }
    )
    return accounts


def started(chunk_size=2) -> tuple[RecomputeRun, list[tuple[int, int]]]:
    """A run fanned out as the workers see it: running, chunks_total set, nothing stored yet."""
    run = services.recompute_start(as_of=TODAY, trigger="nightly")
    chunks = services.account_chunks(chunk_size)
    assert services.recompute_mark_running(run_id=run.pk, chunks=len(chunks))
    return run, chunks


def stall(run: RecomputeRun, seconds: float) -> None:
    """The run's last sign of progress was `seconds` ago."""
    ago = timezone.now() - dt.timedelta(seconds=seconds)
    RecomputeRun.objects.filter(pk=run.pk).update(heartbeat_at=ago, created_at=ago, started_at=ago)


# --- chunks stored once, publish once ----------------------------------------------------------------


def test_a_redelivered_chunk_is_stored_once_and_counted_once(world):
    run, chunks = started()
    first, last = chunks[0]
    assert services.recompute_chunk(run_id=run.pk, first_id=first, last_id=last) is False
    staged = sorted(StagedResult.objects.filter(run_id=run.pk).values_list("account_id", flat=True))
    # The broker delivers the same chunk again (its worker died before acknowledging it).
    assert services.chunk_stage(run_id=run.pk, as_of=TODAY, first_id=first, last_id=last) == 0
    assert sorted(StagedResult.objects.filter(run_id=run.pk).values_list("account_id", flat=True)) == staged
    assert RecomputeChunk.objects.filter(run=run).count() == 1
    run.refresh_from_db()
    assert (run.chunks_done, run.chunks_total) == (1, 2)


def test_publish_refuses_until_every_chunk_is_stored_and_happens_once(world):
    run, chunks = started()
    services.recompute_chunk(run_id=run.pk, first_id=chunks[0][0], last_id=chunks[0][1])
    assert services.publish(run_id=run.pk).status == "running"  # one of two chunks: nothing published
    assert not PublishedDay.objects.exists() and not HealthScore.objects.exists()
    # The chunk that completes the set says so (its task then queues the publish).
    assert services.recompute_chunk(run_id=run.pk, first_id=chunks[1][0], last_id=chunks[1][1]) is True
    assert services.publish(run_id=run.pk).status == "succeeded"
    assert HealthScore.objects.filter(as_of=TODAY).count() == 4
    published = PublishedDay.objects.get(day=TODAY)
    assert services.publish(run_id=run.pk).status == "succeeded"  # a second publish message: nothing happens
    assert PublishedDay.objects.get(day=TODAY).published_at == published.published_at
    run.refresh_from_db()
    assert run.active_lock is None and run.chunks_done == 2
    # A chunk delivered after the run published stores nothing.
    assert services.chunk_stage(run_id=run.pk, as_of=TODAY, first_id=chunks[0][0], last_id=chunks[0][1]) == 0
    assert not StagedResult.objects.exists()


# --- the watchdog --------------------------------------------------------------------------------------


def test_the_watchdog_fails_a_stalled_run_and_gives_back_its_lock_marks_and_staging(world, settings):
    settings.RECOMPUTE_STALL_SECONDS = 60
    DirtyAccount.objects.create(account=world[1], reason="usage", marked_at=timezone.now())
    run, chunks = started()
    assert DirtyAccount.objects.get().claimed_by == run.pk  # a full run of today takes pending marks
    services.chunk_stage(run_id=run.pk, as_of=TODAY, first_id=chunks[0][0], last_id=chunks[0][1])
    stall(run, 61)
    outcome = services.recompute_watchdog()
    assert [r.pk for r in outcome["failed"]] == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed" and run.active_lock is None and "no progress for 60 s" in run.error
    assert DirtyAccount.objects.get().claimed_by is None  # the mark waits for the next run: nothing lost
    assert not StagedResult.objects.exists() and not RecomputeChunk.objects.exists()
    assert recompute(as_of=TODAY).status == "succeeded"  # the lock is free: the next run goes ahead
    assert not DirtyAccount.objects.exists()


def test_the_watchdog_leaves_a_run_that_makes_progress_or_is_being_worked_on(world, settings):
    settings.RECOMPUTE_STALL_SECONDS = 60
    run, _ = started()
    stall(run, 59)
    assert services.recompute_watchdog()["failed"] == []
    stall(run, 600)
    # Another process holds the run's work lock (a long publish, or a chunk computing): alive.
    other = _side_connection()
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN; SELECT pg_advisory_xact_lock_shared(%s, %s)", [services._WORK_LOCK, run.pk])
        assert services.recompute_watchdog()["failed"] == []
        run.refresh_from_db()
        assert run.status == "running" and run.heartbeat_at > timezone.now() - dt.timedelta(seconds=5)
    finally:
        other.close()  # the process dies: its lock goes with it
    stall(run, 600)
    assert [r.pk for r in services.recompute_watchdog()["failed"]] == [run.pk]


def test_the_watchdog_task_publishes_a_run_whose_chunks_are_all_stored(world, settings):
    settings.RECOMPUTE_STALL_SECONDS = 60
    run, chunks = started()
    for first, last in chunks:
        services.chunk_stage(run_id=run.pk, as_of=TODAY, first_id=first, last_id=last)
    stall(run, 120)  # the publish message was lost with the broker
    assert tasks.recompute_watchdog_task() == {"failed": [], "republished": [run.pk]}
    run.refresh_from_db()
    assert run.status == "succeeded" and PublishedDay.objects.filter(day=TODAY, run_id=run.pk).exists()


def test_the_watchdog_task_starts_a_stalled_nightly_run_again_once(world, settings, django_capture_on_commit_callbacks):
    settings.RECOMPUTE_STALL_SECONDS = 60
    run, _ = started()
    stall(run, 120)  # its chunk messages were lost
    with django_capture_on_commit_callbacks(execute=True):
        tasks.recompute_watchdog_task()
    run.refresh_from_db()
    assert run.status == "failed"
    retry = RecomputeRun.objects.get(trigger=tasks.RETRY_TRIGGER)
    assert (retry.status, retry.as_of) == ("succeeded", TODAY)  # eager here: the retry ran at once
    # A retry that stalls in turn is failed, not retried again.
    again, _ = started()
    RecomputeRun.objects.filter(pk=again.pk).update(trigger=tasks.RETRY_TRIGGER)
    stall(again, 120)
    tasks.recompute_watchdog_task()
    assert RecomputeRun.objects.filter(trigger=tasks.RETRY_TRIGGER).count() == 2
    assert RecomputeRun.objects.get(pk=again.pk).status == "failed"


def test_a_stalled_incremental_run_gives_its_marks_back_and_they_are_scheduled_again(world, settings):
    settings.RECOMPUTE_STALL_SECONDS = 60
    recompute(as_of=TODAY)
    DirtyAccount.objects.create(account=world[2], reason="usage", marked_at=timezone.now())
    run = RecomputeRun.objects.create(
        as_of=TODAY, trigger="incremental", status=RecomputeRun.Status.RUNNING, started_at=timezone.now()
    )
    DirtyAccount.objects.update(claimed_by=run.pk)
    stall(run, 120)
    tasks.recompute_watchdog_task()
    run.refresh_from_db()
    assert run.status == "failed" and run.active_lock is None
    assert DirtyAccount.objects.get().claimed_by is None
    assert RecomputeRun.objects.filter(trigger="incremental", status="scheduled", scheduled_lock=True).exists()


def test_recompute_start_frees_a_stalled_run_before_refusing(world, settings):
    settings.RECOMPUTE_STALL_SECONDS = 60
    run, _ = started()
    stall(run, 30)
    refused = services.recompute_start(as_of=TODAY)
    assert refused.status == "refused" and f"run {run.pk}" in refused.error
    stall(run, 61)
    assert services.recompute_start(as_of=TODAY).status == "queued"
    assert RecomputeRun.objects.get(pk=run.pk).status == "failed"


def _side_connection():
    s = connection.settings_dict
    return psycopg2.connect(dbname=s["NAME"], user=s["USER"], host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432)


@pytest.mark.django_db(transaction=True)
def test_failing_a_run_survives_a_dead_database_connection(world):
    run, _ = started()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = _side_connection()
    try:
        with other.cursor() as cursor:  # as when PostgreSQL restarts: this process's backend is gone
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    assert services.recompute_fail(run_id=run.pk, error="chunk 1–2: OperationalError: server closed the connection")
    run.refresh_from_db()
    assert run.status == "failed" and run.active_lock is None


# --- cancel ----------------------------------------------------------------------------------------------


def test_an_admin_cancels_a_stuck_run_from_the_list_and_the_progress_page(world, client_for, cs_admin, csm):
    DirtyAccount.objects.create(account=world[0], reason="usage", marked_at=timezone.now())
    run, chunks = started()
    services.chunk_stage(run_id=run.pk, as_of=TODAY, first_id=chunks[0][0], last_id=chunks[0][1])
    changelist = reverse("admin:pipeline_recomputerun_changelist")
    assert client_for(csm).post(reverse("admin:pipeline_recomputerun_cancel", args=[run.pk])).status_code in (302, 403)
    assert RecomputeRun.objects.get(pk=run.pk).status == "running"
    admin = client_for(cs_admin)
    progress = admin.get(reverse("admin:pipeline_recomputerun_progress", args=[run.pk])).content.decode()
    assert 'id="cancel-run"' in progress and 'class="heartbeat"' in progress  # "Last progress … ago"
    response = admin.post(changelist, {"action": "cancel_runs", "_selected_action": [run.pk]}, follow=True)
    assert f"Cancelled 1 run(s): {run.pk}" in response.content.decode()
    run.refresh_from_db()
    assert (run.status, run.active_lock, run.error) == ("cancelled", None, "cancelled by admin")
    assert DirtyAccount.objects.get().claimed_by is None and not StagedResult.objects.exists()
    # A chunk still computing when the run was cancelled keeps nothing; publish does nothing.
    assert services.chunk_stage(run_id=run.pk, as_of=TODAY, first_id=chunks[1][0], last_id=chunks[1][1]) == 0
    assert services.publish(run_id=run.pk).status == "cancelled" and not PublishedDay.objects.exists()
    assert (
        'id="cancel-run"'
        not in admin.get(reverse("admin:pipeline_recomputerun_progress", args=[run.pk])).content.decode()
    )
    # The lock is free; cancelling a finished run says so.
    assert recompute(as_of=TODAY).status == "succeeded"
    response = admin.post(reverse("admin:pipeline_recomputerun_cancel", args=[run.pk]), follow=True)
    assert "had already finished" in response.content.decode()


def test_a_scheduled_incremental_run_can_be_cancelled(world):
    run = RecomputeRun.objects.create(
        as_of=TODAY, trigger="incremental", status="scheduled", active_lock=None, scheduled_lock=True
    )
    assert services.recompute_cancel(run_id=run.pk, user="admin")
    run.refresh_from_db()
    assert (run.status, run.scheduled_lock) == ("cancelled", None)


# --- the broker cannot take the run ---------------------------------------------------------------------


@pytest.fixture
def dead_broker(monkeypatch):
    """Celery publishing to a loopback port nothing listens on (never the shared Redis)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    old = {k: celery_app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    celery_app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    try:
        yield url
    finally:
        celery_app.conf.update(**old)
        celery_pools_reset()


@pytest.mark.django_db(transaction=True)
def test_recompute_now_with_the_broker_down_answers_at_once_and_holds_no_lock(world, dead_broker, cs_admin, client_for):
    api = APIClient()
    api.force_authenticate(cs_admin)
    t = time.monotonic()
    response = api.post("/api/v1/recompute/", {}, format="json")
    assert time.monotonic() - t < 5
    assert response.status_code == 503
    [error] = response.json()["errors"]
    assert "broker (Redis) is unreachable" in error["message"] and "no lock is held" in error["message"]
    run = RecomputeRun.objects.get()
    assert run.status == "failed" and run.active_lock is None and run.error.startswith("not queued")

    t = time.monotonic()
    response = client_for(cs_admin).post(reverse("admin:pipeline_recomputerun_start"), follow=True)
    assert time.monotonic() - t < 5
    assert "Not started: the task broker (Redis) is unreachable" in response.content.decode()
    assert not RecomputeRun.objects.filter(active_lock=True).exists()


# --- the recompute date (§7) -------------------------------------------------------------------------------

BAD_DATES = [
    ("", "'' is not a date in YYYY-MM-DD form"),
    (None, "null is not a date"),
    (["2026-01-01"], "list is not a date"),
    (20261201, "int is not a date"),
    ("20261201", "'20261201' is not a date"),
    ("2026-13-01", "'2026-13-01' is not a date"),
    ("0001-01-01", "0001-01-01 is before the oldest usage"),
    ("9999-12-31", "9999-12-31 is after today"),
    ((TODAY + dt.timedelta(days=1)).isoformat(), "is after today"),
    ("2062-12-01", "2062-12-01 is after today"),
    ((OLDEST - dt.timedelta(days=1)).isoformat(), f"is before the oldest usage ({OLDEST})"),
]


@pytest.mark.parametrize(("value", "message"), BAD_DATES)
def test_a_bad_recompute_date_is_refused_by_the_api_naming_the_field(world, cs_admin, value, message):
    api = APIClient()
    api.force_authenticate(cs_admin)
    response = api.post("/api/v1/recompute/", {"as_of": value}, format="json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["path"] == "as_of" and message in error["message"]
    assert not RecomputeRun.objects.exists()


@pytest.mark.parametrize(("value", "message"), [(v, m) for v, m in BAD_DATES if isinstance(v, str)])
def test_a_bad_recompute_date_is_refused_by_the_admin_and_the_command(world, client_for, cs_admin, value, message):
    response = client_for(cs_admin).post(reverse("admin:pipeline_recomputerun_start"), {"as_of": value}, follow=True)
    page = response.content.decode()
    assert "Not started: date to score (as_of):" in page and message.replace("'", "&#x27;") in page
    with pytest.raises(CommandError, match=r"^--as-of: ") as raised:
        call_command("recompute", "--as-of", value, stdout=StringIO())
    assert message in str(raised.value)
    assert not RecomputeRun.objects.exists()


def test_good_recompute_dates_are_taken_and_today_is_the_zones_today(world, cs_admin, client_for, settings):
    api = APIClient()
    api.force_authenticate(cs_admin)
    assert api.post("/api/v1/recompute/", {"as_of": OLDEST.isoformat()}, format="json").status_code == 202
    RecomputeRun.objects.all().delete()
    assert api.post("/api/v1/recompute/", {}, format="json").json()["as_of"] == TODAY.isoformat()  # absent: today
    RecomputeRun.objects.all().delete()
    response = client_for(cs_admin).post(reverse("admin:pipeline_recomputerun_start"), {"as_of": OLDEST.isoformat()})
    assert response.status_code == 302 and RecomputeRun.objects.get().as_of == OLDEST
    RecomputeRun.objects.all().delete()
    out = StringIO()
    call_command("recompute", "--as-of", OLDEST.isoformat(), stdout=out)
    assert out.getvalue().startswith(f"recomputed {OLDEST}")
    # "Today" is today in TIME_ZONE: 14 hours ahead of UTC, the local today is taken, the day after is not.
    settings.TIME_ZONE = "Pacific/Kiritimati"
    local = timezone.localdate()
    assert services.recompute_date_check(local.isoformat()) == local
    with pytest.raises(ValueError, match="after today"):
        services.recompute_date_check((local + dt.timedelta(days=1)).isoformat())
    assert api.post("/api/v1/recompute/", ["2026-01-01"], format="json").json()["errors"][0]["path"] == ""


def test_without_usage_the_oldest_account_start_bounds_the_recompute_date():
    check = services.recompute_date_check
    with pytest.raises(ValueError, match="before any data"):
        check(TODAY - dt.timedelta(days=1))
    assert check(TODAY) == TODAY  # today can always be scored
    start = TODAY - dt.timedelta(days=10)
    AccountFactory(start_date=start)
    assert check(start) == start
    with pytest.raises(ValueError, match=rf"before the oldest usage \({start - dt.timedelta(days=0)}\)"):
        check(start - dt.timedelta(days=1))
