"""Fresh between nights (SPEC §4.5): the debounced incremental run of today's dirty accounts.

1. A write marks its accounts (accounts.freshness); once it commits, `incremental_schedule` makes
   sure one incremental RecomputeRun is *scheduled* (status scheduled, holding `scheduled_lock`:
   at most one at a time) and hands it to Celery with a countdown of FRESHNESS_DEBOUNCE_SECONDS.
   Writes arriving meanwhile find it scheduled and add nothing but their marks: one run per burst.
2. When it fires, `incremental_execute` takes the recompute lock (`active_lock`, the one every
   full run takes: the two never interleave; busy → the task retries shortly), gives up
   `scheduled_lock` (later writes schedule the next run), claims every pending mark, computes
   today for those accounts only — the same engine, staging table and statements as a full run —
   and publishes in one transaction: health (only those accounts' rows), segments (their
   memberships, history and touch models), plays (firing for those accounts only), the rollups of the day, the marks deleted, and
   last PublishedDay.refreshed_at. Untouched accounts' rows are not rewritten.
3. When today has no published results yet, the run is a full recompute of today instead (a
   day's page must list every active account, so "the dirty accounts only" is not a day).
4. A failing run releases its marks and keeps the previous results; the task retries with backoff.

A full run of today claims pending marks when it starts and deletes them when it publishes: it
absorbs them. Marks written after it started stay for the next incremental run.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from accounts.freshness import Reason, dirty_accounts_claim, dirty_accounts_clear
from accounts.models import Account, DirtyAccount
from core.bulk import bulk_insert
from dashboards import services as dashboards
from health import services as health
from health.models import AccountMetrics, HealthScore, PublishedDay
from pipeline import services
from pipeline.models import RecomputeChunk, RecomputeRun, StagedResult
from plays import services as plays
from segments import services as segments
from segments.models import SegmentMembership, TouchModelDay

log = logging.getLogger(__name__)

INCREMENTAL = "incremental"
INCREMENTAL_FULL = "incremental-full"  # an incremental run that found today unpublished
# Dirty accounts computed per engine call (one metrics query each): bounds the IN list and memory.
STAGE_BATCH = 2_000
# A scheduled run older than this was lost (a broker flushed, a worker gone): the next write
# schedules a new one rather than trusting it.
_LOST_AFTER = timedelta(minutes=15)


class IncrementalBusy(Exception):
    """Another run (full or incremental) holds the recompute lock: try again shortly."""


def incremental_schedule() -> RecomputeRun | None:
    """Schedules the debounced incremental run unless one is scheduled already (then returns None).

    Called once a write that marked accounts has committed (the `accounts_dirtied` signal)."""
    if not settings.FRESHNESS_ENABLED:
        return None
    lost = RecomputeRun.objects.filter(scheduled_lock=True, created_at__lt=timezone.now() - _LOST_AFTER)
    lost.update(
        status=RecomputeRun.Status.FAILED,
        scheduled_lock=None,
        finished_at=timezone.now(),
        error="abandoned: its task never ran",
    )
    try:
        with transaction.atomic():
            run = RecomputeRun.objects.create(
                as_of=timezone.localdate(),
                trigger=INCREMENTAL,
                status=RecomputeRun.Status.SCHEDULED,
                active_lock=None,
                scheduled_lock=True,
            )
    except IntegrityError:
        return None  # one is scheduled: it will take these marks too
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from pipeline.tasks import incremental_run_task  # noqa: PLC0415 - the tasks module imports this one

    try:
        incremental_run_task.apply_async((run_id,), countdown=settings.FRESHNESS_DEBOUNCE_SECONDS)
    except Exception as exc:
        # The write has committed: it must not fail because the broker is down. Its marks stay
        # (the next write, or the night, takes them; /healthz shows their age).
        log.exception("could not queue incremental run %s", run_id)
        RecomputeRun.objects.filter(pk=run_id, status=RecomputeRun.Status.SCHEDULED).update(
            status=RecomputeRun.Status.FAILED,
            scheduled_lock=None,
            finished_at=timezone.now(),
            error=f"not queued: {exc.__class__.__name__}: {exc}"[:4000],
        )


def _acquire(run_id: int) -> bool:
    """Moves the scheduled run to running, holding the recompute lock. False: it is no longer
    scheduled (abandoned, or done). Raises IncrementalBusy when another run holds the lock."""
    services.recompute_watchdog()  # a stalled run's lock is freed before this one is refused
    try:
        with transaction.atomic():
            taken = RecomputeRun.objects.filter(pk=run_id, status=RecomputeRun.Status.SCHEDULED).update(
                status=RecomputeRun.Status.RUNNING,
                active_lock=True,
                scheduled_lock=None,
                as_of=timezone.localdate(),
                started_at=timezone.now(),
                heartbeat_at=timezone.now(),
                error="",
            )
    except IntegrityError:
        busy = RecomputeRun.objects.filter(active_lock=True).first()
        raise IncrementalBusy(
            f"run {busy.pk if busy else '?'} ({busy.trigger if busy else '?'}) holds the lock"
        ) from None
    return bool(taken)


def incremental_execute(*, run_id: int) -> RecomputeRun:
    """The scheduled incremental run `run_id`: claim, compute, publish (see the module docstring).

    Raises IncrementalBusy (nothing done) or the failure (marks released, previous results kept,
    the run failed: `incremental_retry` puts it back on schedule)."""
    if not _acquire(run_id):
        return RecomputeRun.objects.get(pk=run_id)
    run = RecomputeRun.objects.get(pk=run_id)
    day = run.as_of
    if not PublishedDay.objects.filter(day=day).exists():
        RecomputeRun.objects.filter(pk=run_id).update(trigger=INCREMENTAL_FULL)
        dirty_accounts_claim(run_id=run_id)  # the full publish deletes them (it absorbs the marks)
        return services.recompute_execute(run_id=run_id)
    started = time.monotonic()
    try:
        claimed_at = timezone.now()
        claimed = dirty_accounts_claim(run_id=run_id)
        mine = DirtyAccount.objects.filter(claimed_by=run_id)
        ids = list(mine.order_by("account_id").values_list("account_id", flat=True))
        RecomputeRun.objects.filter(pk=run_id).update(chunks_total=(len(ids) + STAGE_BATCH - 1) // STAGE_BATCH)
        claimed_in = time.monotonic() - started
        analysed = _statistics_refresh(day)
        refreshed_in = time.monotonic() - started - claimed_in
        rules = health.ComputeRules() if ids else None
        for i in range(0, len(ids), STAGE_BATCH):
            _stage(run_id=run_id, day=day, ids=ids[i : i + STAGE_BATCH], rules=rules)
        log.info(
            "incremental run %s: %d accounts computed in %.2fs (marks claimed %.2fs, statistics of %d tables"
            " refreshed %.2fs)",
            run_id,
            len(ids),
            time.monotonic() - started,
            claimed_in,
            analysed,
            refreshed_in,
        )
        with_accounts = mine.filter(reason=Reason.ACCOUNT).exists()
        run = incremental_publish(run_id=run_id, inputs_through=claimed_at, revenue=with_accounts, account_ids=ids)
    except Exception as exc:
        log.exception("incremental run %s failed", run_id)
        incremental_fail(run_id=run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    run.claimed = claimed
    run.wall_seconds = time.monotonic() - started
    return run


# The day's tables the incremental run reads by account id, and the columns its statements filter
# on. Their statistics must know the day's rows: with statistics older than the full run that wrote
# them, PostgreSQL takes "as_of = today" for a few hundred rows and reads the whole day (bitmap on
# the day, then the ids filtered) where a thousand index probes are right: about 2 s more per run.
_READ_BY_ACCOUNT = {
    HealthScore: ("account_id", "as_of", "band", "tier_id", "score"),
    AccountMetrics: ("account_id", "as_of"),
    SegmentMembership: ("segment_id", "account_id", "entered_on", "left_on"),
    TouchModelDay: ("account_id", "day"),
}
# A 6,000-row sample (PostgreSQL's default target, 100, samples 30,000): enough to know the day's
# size and the ids' uniqueness, at a quarter of the cost (0.2 s against 0.8 s at 100,000 accounts
# on a loaded machine). Autovacuum's own ANALYZE later replaces these (a column list does not
# reset its counter of changed rows).
_STATISTICS_TARGET = 20


def _statistics_refresh(day) -> int:
    """ANALYZEs (the filtered columns of) those tables whose statistics predate `day`'s full run —
    once after each night when autovacuum has not yet done it, a fraction of a second; a no-op
    (one query) otherwise. Column lists and a small sample keep it cheap (the JSON columns are
    not read).
    Returns the tables analysed."""
    if connection.vendor != "postgresql":
        return 0
    published = PublishedDay.objects.filter(day=day).values_list("published_at", flat=True).first()
    if published is None:
        return 0
    tables = {model._meta.db_table: columns for model, columns in _READ_BY_ACCOUNT.items()}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s)
               AND COALESCE(GREATEST(last_analyze, last_autoanalyze), '-infinity') < %s""",
            [list(tables), published],
        )
        stale = [table for (table,) in cursor.fetchall()]
    if not stale:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL default_statistics_target = {_STATISTICS_TARGET}")
        for table in stale:
            cursor.execute(f"ANALYZE {table} ({', '.join(tables[table])})")
    return len(stale)


def _stage(*, run_id: int, day, ids: list[int], rules) -> None:
    rows = (
        (run_id, *row)
        for row in health.compute_rows(as_of=day, first_id=ids[0], last_id=ids[-1], rules=rules, account_ids=ids)
    )
    with transaction.atomic():
        services.work_in_progress(run_id)
        bulk_insert(StagedResult, ["run_id", *health.STAGED_COLUMNS], rows)
    services.heartbeat(run_id, chunks_done=F("chunks_done") + 1)


def _plays_step(*, day, accounts) -> None:
    """Plays fire for the re-scored accounts only (`accounts`, a queryset of their ids), after
    segments and before the rollups as in the full publish: the same detection, day and cooldown
    blocks as a full run of the day, so a re-run, another incremental run or a later full run of
    the day fires nothing twice, and an untouched account never fires here."""
    plays.plays_fire(day=day, accounts=accounts)


def incremental_publish(
    *, run_id: int, inputs_through=None, revenue: bool = True, account_ids: list[int] | None = None
) -> RecomputeRun:
    """Publishes an incremental run's staged accounts as today's, in one transaction, in the
    order of pipeline.services.publish: health (those accounts' rows only), segments (their
    memberships and touch models; the day's SegmentDay), plays, the day's VerticalDay and —
    when account fields changed — RevenueDay; the marks it claimed deleted; PublishedDay's
    refreshed_at last. SegmentDay and VerticalDay move by the accounts' difference (their share
    before and after, read by indexed queries: the cost follows the accounts, not the day), which
    is what a full run would write; when account fields changed they are rewritten by the full
    run's writers instead (an account's old ARR or vertical is no longer known).
    """
    run = RecomputeRun.objects.get(pk=run_id)
    if run.status != RecomputeRun.Status.RUNNING:
        return run
    services.heartbeat(run_id)
    day = run.as_of
    staged = StagedResult.objects.filter(run_id=run_id).values("account_id")
    if account_ids is None:
        account_ids = list(staged.values_list("account_id", flat=True))
    # Segments get the ids themselves: against the (unanalysed, UNLOGGED) staging table PostgreSQL
    # misjudges the rules' anti-joins; a literal id list it plans as the small set it is.
    accounts = Account.objects.filter(pk__in=account_ids).values("pk")
    # Without account edits among the marks (no vertical, ARR, churn or use case changed) the
    # rollups move by these accounts' difference: their share before and after, a few indexed
    # queries, rather than a pass over the day (SegmentDay, VerticalDay). With one, or should a
    # rollup not be one row per key, the day's rollups are rewritten as a full run writes them.
    by_difference = not revenue
    steps = _Steps(run_id)
    with transaction.atomic():
        # Once: the run row is held, and still running (a cancel or the watchdog may have ended it).
        if RecomputeRun.objects.select_for_update().get(pk=run_id).status != RecomputeRun.Status.RUNNING:
            return RecomputeRun.objects.get(pk=run_id)
        services.work_in_progress(run_id)
        if by_difference:
            vertical_before = dashboards.vertical_parts(day=day, account_ids=account_ids)
            segment_before = segments.segment_parts(day=day, account_ids=account_ids)
            steps("rollup shares before")
        results = health.health_day_publish(
            day=day,
            staged_table=StagedResult._meta.db_table,
            run_id=run_id,
            inputs_through=inputs_through,
            accounts_only=True,
            account_ids=account_ids,
        )
        steps("health")
        membership = segments.segments_recompute_accounts(as_of=day, account_ids=account_ids)
        steps("segments")
        if not (
            by_difference
            and segments.segment_days_adjust(
                day=day, before=segment_before, after=segments.segment_parts(day=day, account_ids=account_ids)
            )
        ):
            segments.segment_days_write(day=day)
        steps("segment rollups")
        _plays_step(day=day, accounts=accounts)
        steps("plays")
        if not (
            by_difference
            and dashboards.vertical_days_adjust(
                day=day,
                account_ids=account_ids,
                before=vertical_before,
                after=dashboards.vertical_parts(day=day, account_ids=account_ids),
            )
        ):
            dashboards.vertical_days_rollup(start=day)
        steps("vertical rollups")
        if revenue:
            dashboards.revenue_day_write(day=day)
            steps("revenue rollup")
        dirty_accounts_clear(run_id=run_id)
        StagedResult.objects.filter(run_id=run_id).delete()
        RecomputeChunk.objects.filter(run_id=run_id).delete()
        now = timezone.now()
        RecomputeRun.objects.filter(pk=run_id).update(
            status=RecomputeRun.Status.SUCCEEDED,
            finished_at=now,
            active_lock=None,
            accounts_scored=results["scored"],
            error="",
        )
        PublishedDay.objects.filter(day=day).update(refreshed_at=now)
    steps("bookkeeping")
    steps.report()
    run.refresh_from_db()
    run.bands = results["bands"]
    run.segments = membership
    return run


class _Steps:
    """Seconds spent in each publish step, logged (INFO) once the run has published."""

    def __init__(self, run_id: int):
        self.run_id, self.last, self.seconds = run_id, time.monotonic(), {}

    def __call__(self, step: str) -> None:
        now = time.monotonic()
        self.seconds[step], self.last = now - self.last, now

    def report(self) -> None:
        log.info(
            "incremental run %s published: %s", self.run_id, ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        )


def incremental_fail(*, run_id: int, error: str) -> None:
    """The run failed: its marks go back, its staging is cleared, the previous results stay (on a
    fresh database connection if its own died: services.recompute_fail)."""
    services.recompute_fail(run_id=run_id, error=error)


def incremental_retry(*, run_id: int) -> bool:
    """Puts a failed incremental run back on schedule for its retry — unless another one has been
    scheduled since (that one takes the released marks). True: the caller retries this run."""

    def retry() -> bool:
        try:
            with transaction.atomic():
                return bool(
                    RecomputeRun.objects.filter(
                        pk=run_id, status=RecomputeRun.Status.FAILED, trigger__startswith=INCREMENTAL
                    ).update(status=RecomputeRun.Status.SCHEDULED, scheduled_lock=True, finished_at=None)
                )
        except IntegrityError:
            return False

    return bool(services.on_a_live_connection(retry))


def dirty_marks_status() -> dict:
    """{"dirty_accounts": n, "oldest_dirty_mark_seconds": age of the oldest pending mark or None}."""
    figures = DirtyAccount.objects.aggregate(n=Count("pk"), oldest=Min("marked_at"))
    age = None if figures["oldest"] is None else round((timezone.now() - figures["oldest"]).total_seconds(), 1)
    return {"dirty_accounts": figures["n"], "oldest_dirty_mark_seconds": age}
