"""A recompute in one process computes RECOMPUTE_JOBS chunks at a time, each on its own database
connection (pipeline.services.chunks_stage): the same results as one chunk after another, and a
chunk that fails fails the whole run with nothing published. Committed data (transaction=True):
the chunk threads' connections must see what the test wrote."""

import datetime as dt
import threading

import pytest
from django.db import connection

from health import services as health
from health.models import AccountMetrics, HealthScore, PublishedDay
from pipeline import services
from pipeline.models import RecomputeRun, StagedResult
from pipeline.services import recompute
from segments.models import SegmentMembership, TouchModelDay
from tests.factories import AccountFactory, usage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite computes one chunk at a time"),
]
D = dt.date(2026, 6, 30)


def state():
    return (
        sorted(HealthScore.objects.filter(as_of=D).values_list("account_id", "score", "band", "measures", "tier_id")),
        sorted(
            AccountMetrics.objects.filter(as_of=D).values_list(
                "account_id", "active_days_30d", "events_30d", "days_since_last_activity", "journey_stage_id"
            )
        ),
        sorted(TouchModelDay.objects.filter(day=D).values_list("account_id", "touch_model")),
        sorted(SegmentMembership.objects.values_list("segment_id", "account_id", "entered_on", "left_on")),
    )


@pytest.fixture
def more_accounts(world):
    feature, accounts = world
    vertical = accounts[0].vertical
    extra = [AccountFactory(vertical=vertical, arr=500 * (i + 1)) for i in range(8)]
    for i, account in enumerate(extra):
        for n in range(i):
            usage(account, feature, D - dt.timedelta(days=2 * n), events=i + n)
    return feature, accounts + extra


def threads_of_chunks(monkeypatch) -> set[str]:
    """Records the thread each chunk is staged in."""
    seen: set[str] = set()
    real = services.chunk_stage

    def recording(**kwargs):
        seen.add(threading.current_thread().name)
        return real(**kwargs)

    monkeypatch.setattr(services, "chunk_stage", recording)
    return seen


def test_chunks_computed_two_at_a_time_give_the_results_of_one_after_another(more_accounts, settings, monkeypatch):
    settings.RECOMPUTE_JOBS = 1
    sequential_threads = threads_of_chunks(monkeypatch)
    recompute(as_of=D, chunk_size=2)
    sequential = state()
    assert sequential_threads == {threading.current_thread().name}
    assert len(sequential[0]) == 12 and len({band for _, _, band, _, _ in sequential[0]}) > 1

    monkeypatch.undo()
    settings.RECOMPUTE_JOBS = 2
    parallel_threads = threads_of_chunks(monkeypatch)
    run = recompute(as_of=D, chunk_size=2)
    assert run.status == "succeeded" and run.chunks_total == 6 and run.chunks_done == 6
    assert len(parallel_threads) == 2 and threading.current_thread().name not in parallel_threads
    assert state() == sequential
    assert not StagedResult.objects.exists()


def _published_then_changed(more_accounts, settings):
    """D published one chunk at a time, then usage changed so that the next run's results differ;
    RECOMPUTE_JOBS back to 2. Returns D's state and PublishedDay rows as published."""
    settings.RECOMPUTE_JOBS = 1
    recompute(as_of=D, chunk_size=2)
    before, published = state(), list(PublishedDay.objects.values_list("day", "run_id"))
    feature, accounts = more_accounts
    usage(accounts[0], feature, D - dt.timedelta(days=40), events=99)
    settings.RECOMPUTE_JOBS = 2
    return before, published


def test_a_chunk_failing_in_its_thread_fails_the_run_and_publishes_nothing(more_accounts, settings, monkeypatch):
    before, published = _published_then_changed(more_accounts, settings)
    real = health.compute_facts
    lock = threading.Lock()
    calls = []

    def flaky(*args, **kwargs):
        with lock:
            calls.append(args)
            failing = len(calls) == 3
        if failing:
            raise RuntimeError("lost the database in chunk 3")
        return real(*args, **kwargs)

    monkeypatch.setattr(health, "compute_facts", flaky)
    with pytest.raises(RuntimeError, match="chunk 3"):
        recompute(as_of=D, chunk_size=2)
    run = RecomputeRun.objects.latest("created_at")
    assert run.status == "failed" and "chunk 3" in run.error and run.active_lock is None
    assert state() == before
    assert list(PublishedDay.objects.values_list("day", "run_id")) == published
    assert not StagedResult.objects.exists() and not run.chunks.exists()

    monkeypatch.undo()
    assert recompute(as_of=D, chunk_size=2).status == "succeeded"  # the lock was released
    assert state() != before


def test_chunks_are_published_while_others_compute_and_nothing_shows_before_the_commit(
    more_accounts, settings, monkeypatch
):
    """With chunks computed in parallel, each chunk's accounts are written by the publish as soon as
    it is stored (pipeline.services.publish_while_staging), in the one publish transaction: another
    connection, even then, sees none of the day's results; after the commit all of them."""
    settings.RECOMPUTE_JOBS = 2
    published: list = []
    seen_by_last_chunk: list[tuple[int, int]] = []
    real_accounts, real_stage = services._DayPublish.accounts, services.chunk_stage

    def accounts(self, id_range):
        real_accounts(self, id_range)
        published.append(id_range)

    def stage(**kwargs):
        if kwargs["first_id"] == last_first:  # the last chunk, in its own thread and connection
            for _ in range(200):  # until the publish has written an earlier chunk's accounts
                if published:
                    break
                threading.Event().wait(0.05)
            seen_by_last_chunk.append((len(published), HealthScore.objects.filter(as_of=D).count()))
        return real_stage(**kwargs)

    last_first = services.account_chunks(2)[-1][0]
    monkeypatch.setattr(services._DayPublish, "accounts", accounts)
    monkeypatch.setattr(services, "chunk_stage", stage)
    run = recompute(as_of=D, chunk_size=2)
    assert run.status == "succeeded"
    ((written_before, visible),) = seen_by_last_chunk
    assert written_before >= 1 and visible == 0  # written in the transaction, not yet committed
    assert HealthScore.objects.filter(as_of=D).count() == 12
    assert PublishedDay.objects.filter(day=D, run_id=run.pk).exists()
    # The ranges cover every account id once: the first open below, the last open above.
    ordered = sorted(published, key=lambda r: (r[0] is not None, r[0] or 0))
    assert ordered[0][0] is None and ordered[-1][1] is None
    assert all(a[1] + 1 == b[0] for a, b in zip(ordered, ordered[1:], strict=False))


def test_a_run_cancelled_while_its_chunks_are_published_publishes_nothing(more_accounts, settings, monkeypatch):
    before, published = _published_then_changed(more_accounts, settings)
    real = services.chunk_stage
    lock, stored = threading.Lock(), []

    def stage(**kwargs):
        rows = real(**kwargs)
        with lock:
            stored.append(kwargs["first_id"])
            third = len(stored) == 3
        if third:  # an admin cancels: the publish has written some chunks' accounts already
            assert services.recompute_cancel(run_id=kwargs["run_id"], user="admin")
        return rows

    monkeypatch.setattr(services, "chunk_stage", stage)
    with pytest.raises(RuntimeError, match="cancelled"):
        recompute(as_of=D, chunk_size=2)
    run = RecomputeRun.objects.latest("created_at")
    assert run.status == "cancelled" and run.active_lock is None and run.error == "cancelled by admin"
    assert state() == before
    assert list(PublishedDay.objects.values_list("day", "run_id")) == published
    assert not StagedResult.objects.exists()
