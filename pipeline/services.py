"""The recompute: runs, chunks, staging and publish() — the one place that knows the order of a day.

A run computes chunks of accounts (in this process, or fanned out to Celery workers); each chunk
streams its rows into the staging table (pipeline.StagedResult) as it computes them, so no process
holds every account's results. Publishing is one transaction: health's results (INSERT … SELECT
from staging), then segments (membership, touch models), then the dashboards' rollups, and last
the PublishedDay row that tells readers the day is complete. The first two are per account: when
this process computes chunks in parallel, the publish transaction writes each chunk's accounts as
soon as the chunk is stored (publish_while_staging), and only the rest waits for the last chunk. A run that fails publishes nothing:
the previous results stay. One run at a time: the run holds a unique lock column while queued or
running.

A run that dies must not keep the lock. Every sign of progress (started, a chunk stored, publish
begun) moves the run's `heartbeat_at`; work in progress on a run (a chunk, a publish) also holds a
shared PostgreSQL advisory lock, which a dead process or connection gives up with it. The watchdog
(`recompute_watchdog`: a beat task every minute, and `recompute_start` before it refuses a run)
fails a run that holds the lock with no heartbeat for RECOMPUTE_STALL_SECONDS and no work in
progress, and releases its lock, dirty marks and staging. Chunks are stored once per (run, chunk):
a chunk the broker delivers again (its worker was killed before acknowledging) is ignored when
stored, redone when its first attempt never committed; `chunks_done` is the count of stored chunks.
"""

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Min, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from accounts.freshness import dirty_accounts_claim, dirty_accounts_clear, dirty_accounts_release
from accounts.models import Account, UsageDaily
from core.bulk import bulk_insert
from core.db import IdRange, settings_local
from core.text import shown
from dashboards import services as dashboards
from health import services as health
from health.models import PublishedDay
from pipeline.models import RecomputeChunk, RecomputeRun, StagedResult
from plays import services as plays
from segments import services as segments

log = logging.getLogger(__name__)

# In one process, chunks bound the memory of a step (rows stream to staging chunk by chunk) and
# the size of each metrics query; RECOMPUTE_JOBS of them are computed at a time, each on its own
# database connection (the server computes one chunk's metrics while this process scores another).
SYNC_CHUNK_SIZE = 5_000
# The day's rollups (VerticalDay, RevenueDay) run after the last chunk, when the cores the chunks
# used are free: their grouped reads of the day's 50,000–100,000 rows may take PostgreSQL's
# parallel workers, which the default costs keep for larger tables. Measured on the two alone,
# 2 cores: 50,000 accounts 0.61 → 0.53 s, 100,000 1.11 → 0.95 s (medians of 8).
AFTER_THE_CHUNKS = {
    "parallel_setup_cost": "100",
    "parallel_tuple_cost": "0.01",
    "min_parallel_table_scan_size": "0",
    "min_parallel_index_scan_size": "0",
}


class RecomputeRefused(Exception):
    """Another run is queued or running; this one was recorded as refused."""

    def __init__(self, run: RecomputeRun):
        super().__init__(run.error)
        self.run = run


# A database connection that died under the code (PostgreSQL restarted, the backend terminated).
CONNECTION_ERRORS = (OperationalError, InterfaceError)
# Namespace of the advisory lock held (shared) by work in progress on a run: its second key is the run id.
_WORK_LOCK = 7_315_001


class RecomputeNotQueued(Exception):
    """The run could not be handed to the workers (the broker is unreachable); it was failed and its
    lock released at once."""

    def __init__(self, run: RecomputeRun):
        super().__init__(run.error)
        self.run = run


def heartbeat(run_id: int, **fields) -> int:
    """Records progress (and `fields`) on a run still holding the lock."""
    return RecomputeRun.objects.filter(pk=run_id, active_lock=True).update(heartbeat_at=timezone.now(), **fields)


def work_in_progress(run_id: int) -> None:
    """Inside a transaction: holds the run's work lock (shared) until it commits or the connection dies."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [_WORK_LOCK, run_id % 2**31])


def _worked_on(run_id: int) -> bool:
    """True while some process is storing a chunk of the run or publishing it (holds its work lock)."""
    if connection.vendor != "postgresql":
        return False  # SQLite: the embedded demo runs everything in one process
    key = [_WORK_LOCK, run_id % 2**31]
    with connection.cursor() as cursor:
        # Taken and given back at once (session level): held, it would keep chunks from starting.
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        free = cursor.fetchone()[0]
        if free:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    return not free


def on_a_live_connection(fn: Callable[[], object], *, attempts: int = 5, pause: float = 1.0):
    """Runs `fn`; when the database connection has died (PostgreSQL restarted, the backend
    terminated), drops it and tries again on a fresh one, waiting `pause`, 2×`pause`… between
    attempts. The code that records a failure must not fail for the failure's own reason."""
    for attempt in range(attempts):
        if not connection.in_atomic_block and connection.connection is not None and not connection.is_usable():
            connection.close()
        try:
            return fn()
        except CONNECTION_ERRORS:
            if connection.in_atomic_block or attempt == attempts - 1:
                raise
            log.warning("database connection lost; retrying on a fresh one", exc_info=True)
            connection.close()
            time.sleep(pause * 2**attempt)
    return None  # not reached


def connection_reset() -> None:
    """Drops this process's database connection (a task retrying after its connection died)."""
    connection.close()


def recompute_stalled() -> list[RecomputeRun]:
    """Runs holding the lock with no progress for RECOMPUTE_STALL_SECONDS and no work in progress."""
    cutoff = timezone.now() - timedelta(seconds=settings.RECOMPUTE_STALL_SECONDS)
    candidates = (
        RecomputeRun.objects.filter(active_lock=True)
        .alias(last=Coalesce("heartbeat_at", "started_at", "created_at"))
        .filter(last__lt=cutoff)
    )
    stalled = []
    for run in candidates:
        if _worked_on(run.pk):
            heartbeat(run.pk)  # a long chunk or publish: alive, only quiet
        else:
            stalled.append(run)
    return stalled


def recompute_chunks_complete(run_id: int) -> bool:
    """Every chunk of the (running, fanned-out) run is stored: it can publish."""
    run = RecomputeRun.objects.filter(pk=run_id).values("status", "chunks_total", "started_at").first()
    if run is None or run["status"] != RecomputeRun.Status.RUNNING or run["started_at"] is None:
        return False
    return RecomputeChunk.objects.filter(run_id=run_id).count() >= run["chunks_total"]


def recompute_watchdog(*, republish: Callable[[int], None] | None = None) -> dict:
    """Frees the lock of every stalled run (see `recompute_stalled`): fails it — releasing its
    dirty marks and staging — or, given `republish` and a full run whose chunks are all stored
    (its publish step was lost with the broker), hands it to `republish` instead.

    Returns {"failed": [runs failed], "republished": [run ids]}."""
    failed, republished = [], []
    for run in recompute_stalled():
        incremental = run.trigger.startswith("incremental")
        if republish is not None and not incremental and recompute_chunks_complete(run.pk):
            heartbeat(run.pk)
            try:
                republish(run.pk)
                republished.append(run.pk)
                continue
            except Exception:
                log.exception("could not queue the publish of run %s", run.pk)
        seconds = settings.RECOMPUTE_STALL_SECONDS
        error = f"abandoned: no progress for {seconds} s (its worker or broker was lost); the lock was released"
        if recompute_fail(run_id=run.pk, error=error):
            log.warning("recompute run %s (%s) stalled: failed, lock released", run.pk, run.trigger)
            failed.append(run)
    return {"failed": failed, "republished": republished}


def recompute_start(*, as_of: date, trigger: str = "manual") -> RecomputeRun:
    """Records a queued run holding the lock, or a refused one if another run holds it.

    A run that holds the lock but has made no progress for RECOMPUTE_STALL_SECONDS is failed first
    (the watchdog's check): the run asked for now replaces it.
    """
    recompute_watchdog()
    try:
        with transaction.atomic():
            run = RecomputeRun.objects.create(as_of=as_of, trigger=trigger, heartbeat_at=timezone.now())
            if as_of == timezone.localdate():
                dirty_accounts_claim(run_id=run.pk)  # a full run of today absorbs pending marks
            return run
    except IntegrityError:
        busy = RecomputeRun.objects.filter(active_lock=True).first()
        return RecomputeRun.objects.create(
            as_of=as_of,
            trigger=trigger,
            status=RecomputeRun.Status.REFUSED,
            active_lock=None,
            finished_at=timezone.now(),
            error=f"refused: run {busy.pk if busy else '?'} for {busy.as_of if busy else '?'} is still in progress",
        )


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def recompute_date_floor() -> date | None:
    """The oldest date a recompute may score: the oldest usage (the first day with data), else
    the earliest account start date; None without either (then only today can be scored)."""
    oldest = UsageDaily.objects.aggregate(oldest=Min("date"))["oldest"]
    if oldest is None:
        oldest = Account.objects.aggregate(oldest=Min("start_date"))["oldest"]
    return oldest


def recompute_date_check(value) -> date:
    """The date a recompute is asked for (a `date`, or a YYYY-MM-DD string), checked: not empty,
    null or another type; not after today (in TIME_ZONE: a future day would become "the latest day"
    on every page); not before the oldest usage. Raises ValueError with a message for the user
    (the interface names its field)."""
    if isinstance(value, date):
        day = value
    else:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value.strip()):
            quoted = (
                "null" if value is None else f"'{shown(value)}'" if isinstance(value, str) else type(value).__name__
            )
            raise ValueError(f"{quoted} is not a date in YYYY-MM-DD form")
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{value.strip()}' is not a date in YYYY-MM-DD form") from None
    today = timezone.localdate()
    if day > today:
        raise ValueError(f"{day} is after today ({today} in {settings.TIME_ZONE}): a day is scored once it has begun")
    if day < today and not _data_through(day):
        floor = recompute_date_floor()  # only to say which day is the first
        if floor is None:
            raise ValueError(
                f"{day} is before any data (no usage and no account start date yet): only today can be scored"
            )
        raise ValueError(f"{day} is before the oldest usage ({floor}): there is nothing to score then")
    return day


def _data_through(day: date) -> bool:
    """`day` is not before recompute_date_floor(), asked as EXISTS probes that stop at the first
    row (the oldest usage date itself is a pass over every usage row: the key leads with account)."""
    if UsageDaily.objects.filter(date__lte=day).exists():
        return True
    if UsageDaily.objects.exists():
        return False
    return Account.objects.filter(start_date__lte=day).exists()


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


def recompute_mark_running(*, run_id: int, chunks: int) -> bool:
    """Moves a queued run to running with `chunks` chunks to store. False: it is not queued any
    more (a redelivered fan-out of a run already started, or a run cancelled or failed meanwhile)."""
    now = timezone.now()
    return bool(
        RecomputeRun.objects.filter(pk=run_id, status=RecomputeRun.Status.QUEUED, active_lock=True).update(
            status=RecomputeRun.Status.RUNNING, started_at=now, heartbeat_at=now, chunks_total=chunks
        )
    )


def _chunk_claim(run_id: int, first_id: int, last_id: int) -> int | None:
    """Inserts the chunk's row (inside the chunk's transaction), or None when it is stored already.

    A second delivery of a chunk whose first is still computing waits here for the first to commit
    (then finds it stored) or roll back (then computes it)."""
    table = RecomputeChunk._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (run_id, first_account_id, last_account_id, rows, finished_at)
                VALUES (%s, %s, %s, 0, %s) ON CONFLICT (run_id, first_account_id) DO NOTHING RETURNING id""",
            [run_id, first_id, last_id, timezone.now()],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _still_running(run_id: int) -> bool:
    """Read at the end of a chunk's transaction. On PostgreSQL FOR SHARE holds the run row until the
    chunk commits: a fail or cancel (an UPDATE of that row) waits for it, then clears its rows."""
    table = RecomputeRun._meta.db_table
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {table} WHERE id = %s{lock}", [run_id])
        row = cursor.fetchone()
    return bool(row) and row[0] == RecomputeRun.Status.RUNNING


def _chunks_count(run_id: int) -> None:
    """`chunks_done` is derived from the stored chunks (a redelivered chunk cannot count twice);
    GREATEST keeps it from going back when two chunks finish together."""
    stored = RecomputeChunk.objects.filter(run_id=run_id).count()
    heartbeat(run_id, chunks_done=Greatest("chunks_done", Value(stored)))


def chunk_stage(
    *, run_id: int, as_of: date, first_id: int, last_id: int, rules: health.ComputeRules | None = None
) -> int:
    """Computes one chunk and streams its rows into the staging table, in one transaction with the
    chunk's row, at most once per (run, chunk). Returns the rows staged (0: stored already, or the
    run is no longer running — then nothing is kept)."""
    counted = [0]

    def rows():
        for row in health.compute_rows(as_of=as_of, first_id=first_id, last_id=last_id, rules=rules):
            counted[0] += 1
            yield (run_id, *row)

    with transaction.atomic():
        work_in_progress(run_id)
        chunk_id = _chunk_claim(run_id, first_id, last_id)
        if chunk_id is None:
            return 0
        bulk_insert(StagedResult, ["run_id", *health.STAGED_COLUMNS], rows())
        if settings.RECOMPUTE_TEST_CHUNK_SLEEP:
            time.sleep(settings.RECOMPUTE_TEST_CHUNK_SLEEP)  # the fault tests' hook: a fault lands mid-chunk
        if not _still_running(run_id):
            transaction.set_rollback(True)
            return 0
        RecomputeChunk.objects.filter(pk=chunk_id).update(rows=counted[0])
    _chunks_count(run_id)
    return counted[0]


def recompute_chunk(*, run_id: int, first_id: int, last_id: int) -> bool:
    """A worker's share: computes one chunk and keeps its rows aside until the run publishes.

    True when, after it, every chunk of the run is stored: the caller hands the run to publish (the
    chunk that completes the set does; a redelivered one finding them all stored does again — the
    publish happens once). Nothing depends on a chord's state in the broker."""
    run = RecomputeRun.objects.filter(pk=run_id).values("status", "as_of").first()
    if run is None or run["status"] != RecomputeRun.Status.RUNNING:
        return False  # the run failed or was cancelled elsewhere; don't waste the work
    chunk_stage(run_id=run_id, as_of=run["as_of"], first_id=first_id, last_id=last_id)
    return recompute_chunks_complete(run_id)


def _staging_clear(run_id: int) -> None:
    StagedResult.objects.filter(run_id=run_id).delete()
    RecomputeChunk.objects.filter(run_id=run_id).delete()


def recompute_fail(*, run_id: int, error: str, status: str = RecomputeRun.Status.FAILED) -> bool:
    """Ends a run that holds the lock as failed (or `status`, e.g. cancelled): releases the lock, gives
    the dirty marks it claimed back (the next run takes them: nothing is lost) and clears its staging.
    Survives a dead database connection (it retries on a fresh one). False: it held no lock."""

    def fail() -> bool:
        ended = RecomputeRun.objects.filter(pk=run_id, active_lock=True).update(
            status=status, finished_at=timezone.now(), error=error[:4000], active_lock=None
        )
        dirty_accounts_release(run_id=run_id)
        _staging_clear(run_id)
        return bool(ended)

    return bool(on_a_live_connection(fail))


def recompute_cancel(*, run_id: int, user: str = "") -> bool:
    """An admin cancels a queued, running or scheduled run: it ends `cancelled`, its lock (or its
    place in the schedule) is released, its marks go back and its staging is cleared; chunks still
    computing find it no longer running and keep nothing. False: the run had already finished."""
    error = f"cancelled by {user}" if user else "cancelled"
    scheduled = RecomputeRun.objects.filter(pk=run_id, scheduled_lock=True).update(
        status=RecomputeRun.Status.CANCELLED, scheduled_lock=None, finished_at=timezone.now(), error=error
    )
    return recompute_fail(run_id=run_id, error=error, status=RecomputeRun.Status.CANCELLED) or bool(scheduled)


def publish(*, run_id: int) -> RecomputeRun:
    """Publishes the run's staged results as its day — all or nothing, in this order:

    1. health: AccountMetrics and HealthScore of the day (INSERT … SELECT from staging);
    2. segments: membership (with history), touch models (TouchModelDay), the day's SegmentDay;
    3. plays: triggers of the day's results and membership changes fire tasks (deliveries are queued
       on commit, so nothing slow runs inside the transaction);
    4. dashboards: the day's VerticalDay and RevenueDay rollups;
    5. the run's bookkeeping and, last, the day's PublishedDay row: a reader that takes its day
       from PublishedDay never sees a day whose rollups are missing.

    Once: the run row is locked (select_for_update) and must still be running, and every chunk
    must be stored, or nothing is published (the run is returned as it is).

    Steps 1 and 2 are per account: `_DayPublish` writes them for one range of accounts at a time.
    Here one range holds every account; `publish_while_staging` (the command's run with chunks
    computed in parallel) writes each chunk's range in the same transaction as soon as the chunk
    is staged, and only the rest waits for the last chunk.
    """
    heartbeat(run_id)
    with transaction.atomic():
        run = RecomputeRun.objects.select_for_update().get(pk=run_id)
        if not _publishable(run):
            return run
        work_in_progress(run_id)
        day = _DayPublish(run)
        day.accounts(None)
        return day.finish()


def _publishable(run: RecomputeRun) -> bool:
    """The (locked) run is still running and every one of its chunks is stored."""
    if run.status != RecomputeRun.Status.RUNNING:
        return False
    stored = RecomputeChunk.objects.filter(run_id=run.pk).count()
    if stored < run.chunks_total:
        log.warning("run %s not published: %d of %d chunks stored", run.pk, stored, run.chunks_total)
        return False
    return True


class _DayPublish:
    """One publish, inside the caller's transaction: begun on creation (the day's old results and
    touch models deleted, its own membership changes undone), then `accounts(id_range)` for each
    range of accounts (their AccountMetrics, HealthScore, memberships and touch model), then
    `finish()`: what needs every account (the slipping of a later day, SegmentDay, plays,
    rollups), the run's bookkeeping and the PublishedDay row. Ranges must not overlap and, taken
    together, cover every account id (the first and last open-ended)."""

    def __init__(self, run: RecomputeRun):
        self.run, self.day, self.computed_at = run, run.as_of, timezone.now()
        health.health_day_begin(day=self.day)
        self.segments = segments.segments_day_begin(as_of=self.day)

    def accounts(self, id_range: IdRange | None) -> None:
        health.health_range_publish(
            day=self.day,
            staged_table=StagedResult._meta.db_table,
            run_id=self.run.pk,
            id_range=id_range,
            computed_at=self.computed_at,
            inputs_through=self.run.created_at,
        )
        segments.segments_range_recompute(self.segments, id_range=id_range)

    def finish(self) -> RecomputeRun:
        run_id, day = self.run.pk, self.day
        results = health.health_day_finish(day=day, staged_table=StagedResult._meta.db_table, run_id=run_id)
        membership = segments.segments_day_end(self.segments)
        segments.segment_days_write(day=day)
        plays.plays_fire(day=day)
        with settings_local(**AFTER_THE_CHUNKS):
            dashboards.vertical_days_rollup(start=day)
            dashboards.revenue_day_write(day=day)
        dirty_accounts_clear(run_id=run_id)  # the marks it claimed at its start (SPEC §4.5)
        _staging_clear(run_id)
        now = timezone.now()
        RecomputeRun.objects.filter(pk=run_id).update(
            status=RecomputeRun.Status.SUCCEEDED,
            finished_at=now,
            active_lock=None,
            accounts_scored=results["scored"],
            error="",
        )
        PublishedDay.objects.filter(day=day).delete()
        PublishedDay.objects.create(day=day, run_id=run_id, published_at=now)
        run = RecomputeRun.objects.get(pk=run_id)
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
    now = timezone.now()
    # Queued (the command, eager Celery) or running already (an incremental run that found today unpublished).
    taken = RecomputeRun.objects.filter(
        pk=run_id, active_lock=True, status__in=[RecomputeRun.Status.QUEUED, RecomputeRun.Status.RUNNING]
    ).update(status=RecomputeRun.Status.RUNNING, started_at=now, heartbeat_at=now, chunks_total=len(chunks))
    if not taken:
        raise RuntimeError(f"run {run_id} is no longer queued (cancelled or abandoned)")
    as_of = RecomputeRun.objects.values_list("as_of", flat=True).get(pk=run_id)
    try:
        jobs = _parallel_jobs(len(chunks))
        if jobs == 1:
            rules = health.ComputeRules(alone=True)
            chunks_stage(run_id=run_id, as_of=as_of, chunks=chunks, rules=rules, jobs=1)
            run = publish(run_id=run_id)
        else:
            rules = health.ComputeRules()
            run = publish_while_staging(run_id=run_id, as_of=as_of, chunks=chunks, rules=rules, jobs=jobs)
        if run.status != RecomputeRun.Status.SUCCEEDED:
            raise RuntimeError(f"run {run_id} was not published: {run.status} {run.error}".strip())
    except Exception as exc:
        log.exception("recompute run %s failed", run_id)
        recompute_fail(run_id=run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    run.wall_seconds = time.monotonic() - started
    return run


def _parallel_jobs(chunks: int) -> int:
    """How many chunks this process computes at a time: RECOMPUTE_JOBS on PostgreSQL, one when a
    transaction is open on this connection (other connections would not see its writes: tests) or
    on SQLite (one writer)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, min(settings.RECOMPUTE_JOBS, chunks))


def chunks_stage(
    *,
    run_id: int,
    as_of: date,
    chunks: list[tuple[int, int]],
    rules: health.ComputeRules,
    jobs: int,
    on_start: Callable[[], None] | None = None,
    on_staged: Callable[[int, int], None] | None = None,
) -> None:
    """Stages every chunk of the run from this process, `jobs` at a time (see _parallel_jobs), each
    in a thread with its own database connection and transaction (the GIL is released while
    PostgreSQL computes a chunk's metrics or takes its COPY). In this thread, `on_start()` is
    called once the first chunks are computing, and `on_staged(first_id, last_id)` as each chunk
    is stored. The first chunk that fails fails them all: chunks not begun are not started, and
    the exception is raised here."""
    if jobs == 1:
        if on_start is not None:
            on_start()
        for first_id, last_id in chunks:
            chunk_stage(run_id=run_id, as_of=as_of, first_id=first_id, last_id=last_id, rules=rules)
            if on_staged is not None:
                on_staged(first_id, last_id)
        return

    def stage(first_id: int, last_id: int) -> None:
        try:
            chunk_stage(run_id=run_id, as_of=as_of, first_id=first_id, last_id=last_id, rules=rules)
        finally:
            connection.close()  # this thread's connection

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix=f"recompute-{run_id}") as pool:
        futures = {pool.submit(stage, first_id, last_id): (first_id, last_id) for first_id, last_id in chunks}
        try:
            if on_start is not None:
                on_start()
            for future in as_completed(futures):
                future.result()
                if on_staged is not None:
                    on_staged(*futures[future])
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def publish_while_staging(
    *, run_id: int, as_of: date, chunks: list[tuple[int, int]], rules: health.ComputeRules, jobs: int
) -> RecomputeRun:
    """Stages the run's chunks `jobs` at a time and publishes it, in one transaction that writes each
    chunk's accounts (publish's per-account steps, `_DayPublish.accounts`) as soon as the chunk is
    stored: the serial part of the publish overlaps the chunks still computing, and only what needs
    every account waits for the last one. Nothing is visible before the commit, as with publish().

    The run row is locked only at the end (chunks read it FOR SHARE and move its heartbeat while
    they are stored); a run cancelled or failed meanwhile is rolled back then, publishing nothing.
    """
    ranges = _publish_ranges(chunks)
    heartbeat(run_id)
    publishing: list[_DayPublish] = []

    def begin() -> None:  # while the first chunks compute: deletes the day's old results
        publishing.append(_DayPublish(RecomputeRun.objects.get(pk=run_id)))

    with transaction.atomic():
        work_in_progress(run_id)
        chunks_stage(
            run_id=run_id,
            as_of=as_of,
            chunks=chunks,
            rules=rules,
            jobs=jobs,
            on_start=begin,
            on_staged=lambda first_id, _last_id: publishing[0].accounts(ranges[first_id]),
        )
        day = publishing[0]
        run = RecomputeRun.objects.select_for_update().get(pk=run_id)
        if not _publishable(run):
            transaction.set_rollback(True)
            return run
        return day.finish()


def _publish_ranges(chunks: list[tuple[int, int]]) -> dict[int, IdRange]:
    """{first id of a chunk: the id range publish writes for it}: the chunk's range widened to the
    next chunk's first id (the first open below, the last open above), so that the ranges cover
    every account id — an account added while the run computes is segmented as publish() would."""
    ordered = sorted(chunks)
    return {
        first: (None if i == 0 else first, ordered[i + 1][0] - 1 if i + 1 < len(ordered) else None)
        for i, (first, _last) in enumerate(ordered)
    }


def recompute_enqueue(*, as_of: date, trigger: str = "manual") -> RecomputeRun:
    """Records the run and hands it to the workers once the surrounding transaction commits.

    Raises RecomputeNotQueued when the broker cannot take it (called outside a transaction, the
    hand-over happens here): the run is failed and its lock released at once, in the few seconds
    the broker's connection timeout and publish retry policy allow (settings: CELERY_BROKER_*)."""
    from pipeline.tasks import recompute_run_task  # noqa: PLC0415 - the tasks module imports this one

    run = recompute_start(as_of=as_of, trigger=trigger)
    if run.status == RecomputeRun.Status.REFUSED:
        return run

    def hand_over() -> None:
        if recompute_run_task.app.conf.task_always_eager:
            # In this process (what an eager delay() does, without taking a producer from the
            # broker's pool first): its failures are the run's own.
            recompute_run_task.apply((run.pk,))
            return
        try:
            recompute_run_task.delay(run.pk)
        except Exception as exc:
            log.exception("could not queue recompute run %s", run.pk)
            recompute_fail(
                run_id=run.pk,
                error=f"not queued: the task broker is unreachable ({exc.__class__.__name__}: {exc})",
            )

    transaction.on_commit(hand_over)
    run.refresh_from_db()
    if run.status == RecomputeRun.Status.FAILED and run.error.startswith("not queued"):
        raise RecomputeNotQueued(run)
    return run
