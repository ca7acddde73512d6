"""pipeline.services.publish: staged rows written once (INSERT … SELECT), slipping joined at insert
and refreshed on the day SLIPPING_DAYS after a re-run past date, touch models in their own table,
accounts not started yet, PublishedDay written last, memory-bounded chunks."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.models import VerticalDay
from health.models import SLIPPING_DAYS, AccountMetrics, HealthScore, PublishedDay, Scorecard
from health.selectors import results_day
from pipeline import services
from pipeline.models import RecomputeRun, StagedResult
from pipeline.services import recompute
from segments.models import SegmentMembership, TouchModelDay
from tests.factories import AccountFactory, usage

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)
BEFORE = D - dt.timedelta(days=SLIPPING_DAYS)


def health_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if "health_healthscore" in q["sql"] and q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))
    ]


def test_each_health_row_is_written_once_with_slipping_joined_in(world):
    _, accounts = world
    recompute(as_of=BEFORE)
    with CaptureQueriesContext(connection) as ctx:
        recompute(as_of=D)
    # One INSERT … SELECT from staging for the day's rows; the only UPDATE is the (empty) refresh
    # of the day SLIPPING_DAYS after D.
    writes = health_writes(ctx.captured_queries)
    inserts = [w for w in writes if w.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "pipeline_stagedresult" in inserts[0]
    updates = [w for w in writes if w.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1 and (D + dt.timedelta(days=SLIPPING_DAYS)).isoformat() in updates[0]
    rows = {h.account_id: h for h in HealthScore.objects.filter(as_of=D)}
    before = dict(HealthScore.objects.filter(as_of=BEFORE).values_list("account_id", "score"))
    for a in accounts:
        assert rows[a.pk].score_30d_ago == before[a.pk]
        assert rows[a.pk].slipping is False  # usage did not change: nobody fell
    assert not StagedResult.objects.exists()  # staging is emptied by the publish


def test_a_rerun_of_a_past_date_refreshes_the_day_after_it(world):
    feature, accounts = world
    recompute(as_of=D)
    busiest = accounts[-1]
    assert HealthScore.objects.get(account=busiest, as_of=D).score_30d_ago is None
    # Usage of a month before D arrives late; re-running that past date must refresh D's rows.
    for n in range(10):
        usage(busiest, feature, BEFORE - dt.timedelta(days=n), events=5)
    recompute(as_of=BEFORE)
    then = HealthScore.objects.get(account=busiest, as_of=BEFORE).score
    now = HealthScore.objects.get(account=busiest, as_of=D)
    assert then == 100 and now.score_30d_ago == 100
    assert now.slipping is (now.score <= 100 - 15)
    untouched = HealthScore.objects.get(account=accounts[0], as_of=D)
    assert untouched.score_30d_ago == 0 and untouched.slipping is False


def test_touch_models_have_their_own_table(world):
    _, accounts = world
    recompute(as_of=D)
    touch = dict(TouchModelDay.objects.filter(day=D).values_list("account_id", "touch_model"))
    # Busy (priority 5) claims the accounts with 3+ active days; All gives the rest "mid".
    assert touch == {accounts[0].pk: "mid", accounts[1].pk: "high", accounts[2].pk: "high", accounts[3].pk: "high"}
    recompute(as_of=D)  # a re-run replaces the day's rows
    assert TouchModelDay.objects.filter(day=D).count() == 4


def test_accounts_not_started_yet_are_not_customers(world):
    _, accounts = world
    later = AccountFactory(vertical=accounts[0].vertical, start_date=D + dt.timedelta(days=1), arr=500000)
    on_the_day = AccountFactory(vertical=accounts[0].vertical, start_date=D)
    recompute(as_of=D)
    h = HealthScore.objects.get(account=later, as_of=D)
    assert (h.score, h.band, h.scorecard_id, h.measures) == (None, "not_started", None, [])
    assert HealthScore.objects.get(account=on_the_day, as_of=D).band != "not_started"
    assert not SegmentMembership.objects.filter(account=later).exists()
    assert not TouchModelDay.objects.filter(account=later).exists()

    row = VerticalDay.objects.get(vertical=accounts[0].vertical, day=D)
    assert row.accounts == 5 and row.arr == sum(a.arr for a in accounts) + on_the_day.arr


def test_published_day_is_written_last_and_a_failing_publish_keeps_the_previous(world, monkeypatch):
    recompute(as_of=BEFORE)
    assert results_day() == BEFORE
    run = RecomputeRun.objects.get()
    assert PublishedDay.objects.get(day=BEFORE).run_id == run.pk
    with CaptureQueriesContext(connection) as ctx:
        recompute(as_of=D)
    writes = [
        q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert "health_publishedday" in writes[-1] and writes[-1].lstrip().upper().startswith("INSERT")
    assert results_day() == D

    def boom(**kwargs):
        raise RuntimeError("rollups broke")

    monkeypatch.setattr("dashboards.services.revenue_day_write", boom)
    with pytest.raises(RuntimeError):
        recompute(as_of=D + dt.timedelta(days=1))
    assert results_day() == D
    assert not HealthScore.objects.filter(as_of=D + dt.timedelta(days=1)).exists()
    assert not StagedResult.objects.exists()


def test_results_day_is_none_before_anything_is_published(world):
    HealthScore.objects.create(account=world[1][0], as_of=D, band="unknown")  # not published
    assert results_day() is None


def test_chunks_stream_to_staging_one_at_a_time(world, monkeypatch):
    """No step holds more than one chunk: every chunk is staged before the next is computed, and
    what travels to the publish step is nothing but the run id."""
    staged_when_computing = []
    real = services.health.compute_rows

    def spy(**kwargs):
        staged_when_computing.append(StagedResult.objects.count())
        return real(**kwargs)

    monkeypatch.setattr(services.health, "compute_rows", spy)
    published_with = []
    real_publish = services.publish
    monkeypatch.setattr(services, "publish", lambda **kw: published_with.append(kw) or real_publish(**kw))
    recompute(as_of=D, chunk_size=1)
    assert staged_when_computing == [0, 1, 2, 3]
    assert list(published_with[0]) == ["run_id"]
    assert AccountMetrics.objects.filter(as_of=D).count() == 4


def test_account_chunks_come_from_the_database(world):
    ids = sorted(a.pk for a in world[1])
    assert services.account_chunks(3) == [(ids[0], ids[2]), (ids[3], ids[3])]


def recompute_refused_after(monkeypatch, delete, column: str) -> RecomputeRun:
    """Recomputes D with `delete()` run between staging and publishing; the run must fail, its error
    naming `column`, one missing id and that nothing was published. Returns the failed run."""
    real_publish = services.publish

    def publish_after_a_delete(**kwargs):
        delete()
        return real_publish(**kwargs)

    monkeypatch.setattr(services, "publish", publish_after_a_delete)
    with pytest.raises(Exception, match=f"{column}: 1 id"):
        recompute(as_of=D)
    run = RecomputeRun.objects.latest("created_at")
    assert run.status == "failed" and column in run.error and "nothing was published" in run.error
    return run


def test_a_scorecard_deleted_while_the_run_computed_fails_the_run_and_publishes_nothing(world, monkeypatch):
    """The results' references are checked when the day is published (no per-row foreign keys):
    a row naming a scorecard deleted after its chunk was computed is refused, the error names the
    column, and the day published before stays as it was."""
    recompute(as_of=D)
    before = sorted(HealthScore.objects.filter(as_of=D).values_list("account_id", "score", "scorecard_id"))
    # Through the ORM: the old rows' scorecard is set NULL, the staged rows still name it.
    run = recompute_refused_after(monkeypatch, Scorecard.objects.filter(name="Any").delete, "scorecard_id")
    after = sorted(HealthScore.objects.filter(as_of=D).values_list("account_id", "score", "scorecard_id"))
    assert [(a, s) for a, s, _ in after] == [(a, s) for a, s, _ in before]
    assert not StagedResult.objects.filter(run_id=run.pk).exists()


def test_an_account_deleted_while_the_run_computed_fails_the_run_and_publishes_nothing(world, monkeypatch):
    """The same check for the account a staged row names (probed by key, not hashed like the few
    scorecards): deleted after its chunk was computed, the run is refused naming the column."""
    _, accounts = world
    # Through the ORM, after its chunk was staged: the staged row stays.
    run = recompute_refused_after(monkeypatch, accounts[1].delete, "account_id")
    assert not HealthScore.objects.filter(as_of=D).exists() and not PublishedDay.objects.filter(day=D).exists()
    assert not StagedResult.objects.filter(run_id=run.pk).exists()


def test_an_account_deleted_through_the_app_takes_its_results_along(world):
    """Without database foreign keys on the results tables, deleting an account still removes
    its metrics, scores, stays and touch models (the ORM cascades)."""
    _, accounts = world
    recompute(as_of=D)
    gone = accounts[3]
    assert HealthScore.objects.filter(account=gone).exists() and SegmentMembership.objects.filter(account=gone).exists()
    gone.delete()
    for model in (AccountMetrics, HealthScore, SegmentMembership, TouchModelDay):
        assert not model.objects.filter(account_id=gone.pk).exists(), model
    assert HealthScore.objects.filter(as_of=D).count() == 3
