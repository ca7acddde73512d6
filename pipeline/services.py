"""The recompute: runs, chunks, staging and publish() — the one place that knows the order of a day.

A run computes chunks of accounts (in this process, or fanned out to Celery workers); each chunk
streams its rows into the staging table (pipeline.StagedResult) as it computes them, so no process
holds every account's results. Publishing is one transaction: health's results (INSERT … SELECT
from staging), then segments (membership, touch models), then the dashboards' rollups, and last
the PublishedDay row that tells readers the day is complete. A run that fails publishes nothing:
the previous results stay. One run at a time: the run holds a unique lock column while queued or
running.
"""

import logging
import time
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.freshness import dirty_accounts_claim, dirty_accounts_clear, dirty_accounts_release
from accounts.models import Account
from core.bulk import bulk_insert
from dashboards import services as dashboards
from health import services as health
from health.models import PublishedDay
from pipeline.models import RecomputeChunk, RecomputeRun, StagedResult
from plays import services as plays
from segments import services as segments

log = logging.getLogger(__name__)

# In one process, chunks bound the memory of a step (rows stream to staging chunk by chunk) and
# the size of each metrics query.
SYNC_CHUNK_SIZE = 10_000


class RecomputeRefused(Exception):
    """Another run is queued or running; this one was recorded as refused."""

    def __init__(self, run: RecomputeRun):
        super().__init__(run.error)
        self.run = run


def _stale_after() -> timedelta:
    return timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT)


def recompute_start(*, as_of: date, trigger: str = "manual") -> RecomputeRun:
    """Records a queued run holding the lock, or a refused one if another run holds it.

    A run that has held the lock far longer than the hard time limit is abandoned and released.
    """
    stale = RecomputeRun.objects.filter(active_lock=True, created_at__lt=timezone.now() - _stale_after())
    for run_id in stale.values_list("pk", flat=True):
        recompute_fail(run_id=run_id, error="abandoned: ran past the time limit")
    try:
        with transaction.atomic():
            run = RecomputeRun.objects.create(as_of=as_of, trigger=trigger)
            if as_of == timezone.localdate():
                dirty_accounts_claim(run_id=run.pk)  # a full run of today absorbs pending marks
            return run
    except IntegrityError:
        busy = RecomputeRun.objects.filter(active_lock=True).first()
        return RecomputeRun.objects.create(
            as_of=as_of, trigger=trigger, status=RecomputeRun.Status.REFUSED, active_lock=None,
            finished_at=timezone.now(),
            error=f"refused: run {busy.pk if busy else '?'} for {busy.as_of if busy else '?'} is still in progress",
        )  # fmt: skip


def account_chunks(chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Account id ranges of at most `chunk_size` accounts each (computed by the database: one row
    per chunk comes back, not one per account)."""
    size = chunk_size or settings.RECOMPUTE_CHUNK_SIZE
    table = Account._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT MIN(id), MAX(id) FROM (
                    SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS chunk FROM {table}) t
                GROUP BY chunk ORDER BY chunk""",
            [size],
        )
        return [(first, last) for first, last in cursor.fetchall()]


def recompute_mark_running(*, run_id: int, chunks: int) -> None:
    RecomputeRun.objects.filter(pk=run_id).update(
        status=RecomputeRun.Status.RUNNING, started_at=timezone.now(), chunks_total=chunks
    )


def chunk_stage(
    *, run_id: int, as_of: date, first_id: int, last_id: int, rules: health.ComputeRules | None = None
) -> int:
    """Computes one chunk and streams its rows into the staging table; records the chunk done."""
    counted = [0]

    def rows():
        for row in health.compute_rows(as_of=as_of, first_id=first_id, last_id=last_id, rules=rules):
            counted[0] += 1
            yield (run_id, *row)

    bulk_insert(StagedResult, ["run_id", *health.STAGED_COLUMNS], rows())
    RecomputeChunk.objects.create(run_id=run_id, first_account_id=first_id, last_account_id=last_id, rows=counted[0])
    RecomputeRun.objects.filter(pk=run_id).update(chunks_done=F("chunks_done") + 1)
    return counted[0]


def recompute_chunk(*, run_id: int, first_id: int, last_id: int) -> int:
    """A worker's share: computes one chunk and keeps its rows aside until the run publishes."""
    run = RecomputeRun.objects.get(pk=run_id)
    if run.status != RecomputeRun.Status.RUNNING:
        return 0  # the run failed elsewhere; don't waste the work
    return chunk_stage(run_id=run_id, as_of=run.as_of, first_id=first_id, last_id=last_id)


def _staging_clear(run_id: int) -> None:
    StagedResult.objects.filter(run_id=run_id).delete()
    RecomputeChunk.objects.filter(run_id=run_id).delete()


def recompute_fail(*, run_id: int, error: str) -> None:
    RecomputeRun.objects.filter(pk=run_id, active_lock=True).update(
        status=RecomputeRun.Status.FAILED, finished_at=timezone.now(), error=error[:4000], active_lock=None
    )
    dirty_accounts_release(run_id=run_id)  # a failed run gives its dirty marks back
    _staging_clear(run_id)


def publish(*, run_id: int) -> RecomputeRun:
    """Publishes the run's staged results as its day — all or nothing, in this order:

    1. health: AccountMetrics and HealthScore of the day (INSERT … SELECT from staging);
    2. segments: membership (with history), touch models (TouchModelDay), the day's SegmentDay;
    3. plays: triggers of the day's results and membership changes fire tasks (deliveries are queued
       on commit, so nothing slow runs inside the transaction);
    4. dashboards: the day's VerticalDay and RevenueDay rollups;
    5. the run's bookkeeping and, last, the day's PublishedDay row: a reader that takes its day
       from PublishedDay never sees a day whose rollups are missing.
    """
    run = RecomputeRun.objects.get(pk=run_id)
    if run.status != RecomputeRun.Status.RUNNING:
        return run
    day = run.as_of
    with transaction.atomic():
        results = health.health_day_publish(
            day=day, staged_table=StagedResult._meta.db_table, run_id=run_id, inputs_through=run.created_at
        )
        membership = segments.segments_recompute(as_of=day)
        segments.segment_days_write(day=day)
        plays.plays_fire(day=day)
        dashboards.vertical_days_rollup(start=day)
        dashboards.revenue_day_write(day=day)
        dirty_accounts_clear(run_id=run_id)  # the marks it claimed at its start (SPEC §4.5)
        _staging_clear(run_id)
        now = timezone.now()
        RecomputeRun.objects.filter(pk=run_id).update(
            status=RecomputeRun.Status.SUCCEEDED, finished_at=now, active_lock=None,
            accounts_scored=results["scored"], error="",
        )  # fmt: skip
        PublishedDay.objects.filter(day=day).delete()
        PublishedDay.objects.create(day=day, run_id=run_id, published_at=now)
    run.refresh_from_db()
    run.bands = results["bands"]
    run.segments = membership
    return run


def recompute(*, as_of: date, trigger: str = "manual", chunk_size: int | None = None) -> RecomputeRun:
    """The whole recompute, synchronously in this process (the command and eager Celery use it)."""
    run = recompute_start(as_of=as_of, trigger=trigger)
    if run.status == RecomputeRun.Status.REFUSED:
        raise RecomputeRefused(run)
    return recompute_execute(run_id=run.pk, chunk_size=chunk_size)


def recompute_execute(*, run_id: int, chunk_size: int | None = None) -> RecomputeRun:
    started = time.monotonic()
    chunks = account_chunks(chunk_size or SYNC_CHUNK_SIZE)
    recompute_mark_running(run_id=run_id, chunks=len(chunks))
    as_of = RecomputeRun.objects.values_list("as_of", flat=True).get(pk=run_id)
    try:
        rules = health.ComputeRules()
        for first_id, last_id in chunks:
            chunk_stage(run_id=run_id, as_of=as_of, first_id=first_id, last_id=last_id, rules=rules)
        run = publish(run_id=run_id)
    except Exception as exc:
        log.exception("recompute run %s failed", run_id)
        recompute_fail(run_id=run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    run.wall_seconds = time.monotonic() - started
    return run


def recompute_enqueue(*, as_of: date, trigger: str = "manual") -> RecomputeRun:
    """Records the run and hands it to the workers once the surrounding transaction commits."""
    from pipeline.tasks import recompute_run_task  # noqa: PLC0415 - the tasks module imports this one

    run = recompute_start(as_of=as_of, trigger=trigger)
    if run.status != RecomputeRun.Status.REFUSED:
        transaction.on_commit(lambda: recompute_run_task.delay(run.pk))
    return run
