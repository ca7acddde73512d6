"""The recompute: metrics, journeys, health and segments of every account for one date.

A run computes chunks of accounts (in-process, or fanned out to Celery workers), keeps each
chunk's results aside, then publishes all of them in one transaction together with segment
membership and touch models. A run that fails publishes nothing: the previous results stay.
One run at a time: the run holds a unique lock column while queued or running.
"""

import logging
import time
from collections import Counter
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, OuterRef, Subquery, When
from django.utils import timezone

from accounts.models import Account, Tier
from core.bulk import bulk_insert
from health.engine.metrics import compute_facts
from health.engine.scoring import load_scorecards, score_account, select_scorecard, tier_for
from health.models import (
    SLIPPING_DAYS,
    SLIPPING_POINTS,
    AccountMetrics,
    Band,
    HealthScore,
    RecomputeChunk,
    RecomputeRun,
)  # fmt: skip
from journeys.engine import journey_features, journey_position, load_journeys

log = logging.getLogger(__name__)

METRIC_COLUMNS = (
    "active_days_30d", "active_days_90d", "active_days_365d", "active_months_365d", "events_30d",
    "active_users_30d", "seat_utilization_30d", "features_used_90d", "days_since_last_activity",
    "nps_latest", "journey_progress",
)  # fmt: skip
# One chunk row: account id, the metric columns, journey stage id, score, band, scorecard id,
# measures, tier id.
ROW_FIELDS = ("account_id", *METRIC_COLUMNS, "journey_stage_id", "score", "band", "scorecard_id", "measures", "tier_id")


SYNC_CHUNK_SIZE = 50_000


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
    stale.update(status=RecomputeRun.Status.FAILED, active_lock=None, finished_at=timezone.now(),
                 error="abandoned: ran past the time limit")  # fmt: skip
    try:
        with transaction.atomic():
            return RecomputeRun.objects.create(as_of=as_of, trigger=trigger)
    except IntegrityError:
        busy = RecomputeRun.objects.filter(active_lock=True).first()
        return RecomputeRun.objects.create(
            as_of=as_of, trigger=trigger, status=RecomputeRun.Status.REFUSED, active_lock=None,
            finished_at=timezone.now(),
            error=f"refused: run {busy.pk if busy else '?'} for {busy.as_of if busy else '?'} is still in progress",
        )  # fmt: skip


def account_chunks(chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Account id ranges of at most `chunk_size` accounts each."""
    size = chunk_size or settings.RECOMPUTE_CHUNK_SIZE
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def recompute_mark_running(*, run_id: int, chunks: int) -> None:
    RecomputeRun.objects.filter(pk=run_id).update(
        status=RecomputeRun.Status.RUNNING, started_at=timezone.now(), chunks_total=chunks
    )


class _Rules:
    """What a chunk needs besides usage: journeys, scorecards and tiers, loaded once per process step."""

    def __init__(self):
        self.journeys = load_journeys()
        self.features = journey_features(self.journeys)
        self.scorecards = load_scorecards()
        self.tiers = [(t.min_arr, t.pk) for t in Tier.objects.order_by("-min_arr")]


def compute_rows(*, as_of: date, first_id: int, last_id: int, rules: _Rules | None = None) -> list[list]:
    """The results (ROW_FIELDS) of the accounts with id in [first_id, last_id] as of `as_of`."""
    rules = rules or _Rules()
    rows = []
    for facts in compute_facts(as_of, first_id, last_id, rules.features):
        stages = rules.journeys.get((facts.vertical_id, facts.primary_use_case_id))
        stage_id = None
        if stages is None:
            facts.metrics["journey_progress"] = None
        else:
            stage, progress = journey_position(stages, facts.feature_events_90d)
            facts.metrics["journey_progress"] = progress
            stage_id = stage.stage_id if stage else None
        if facts.churned_on is not None and facts.churned_on <= as_of:
            # Churned: no score, band churned (and, in segments, no membership or touch model).
            score, band, scorecard_id, measures = None, Band.CHURNED, None, []
        else:
            plan = select_scorecard(rules.scorecards, facts.vertical_id, facts.primary_use_case_id)
            result = score_account(facts.metrics, plan)
            score, band, scorecard_id, measures = result.score, result.band, result.scorecard_id, result.measures
        # The tier follows ARR alone (SPEC §6), churned or not.
        tier_id = tier_for(facts.arr, rules.tiers)
        metric_values = [
            float(v) if k in ("seat_utilization_30d", "journey_progress") and v is not None else v
            for k, v in ((k, facts.metrics.get(k)) for k in METRIC_COLUMNS)
        ]
        rows.append([facts.account_id, *metric_values, stage_id, score, band, scorecard_id, measures, tier_id])
    return rows


def recompute_chunk(*, run_id: int, first_id: int, last_id: int) -> int:
    """A worker's share: computes one chunk and keeps its rows aside until the run publishes."""
    run = RecomputeRun.objects.get(pk=run_id)
    if run.status != RecomputeRun.Status.RUNNING:
        return 0  # the run failed elsewhere; don't waste the work
    rows = compute_rows(as_of=run.as_of, first_id=first_id, last_id=last_id)
    RecomputeChunk.objects.create(run_id=run_id, first_account_id=first_id, last_account_id=last_id, rows=rows)
    RecomputeRun.objects.filter(pk=run_id).update(chunks_done=F("chunks_done") + 1)
    return len(rows)


def recompute_fail(*, run_id: int, error: str) -> None:
    RecomputeRun.objects.filter(pk=run_id, active_lock=True).update(
        status=RecomputeRun.Status.FAILED, finished_at=timezone.now(), error=error[:4000], active_lock=None
    )
    RecomputeChunk.objects.filter(run_id=run_id).delete()


def recompute_publish(*, run_id: int, rows: list | None = None) -> RecomputeRun:
    """Replaces the day's results with the run's, and recomputes segments — all or nothing.

    `rows` are the computed results when this process computed them itself; otherwise they are
    read from the chunks the workers kept aside.
    """
    from dashboards.services import (  # rollups read what this step writes
        revenue_day_write,
        vertical_days_rollup,
    )
    from segments.services import segment_days_write, segments_recompute  # segments read what this step writes

    run = RecomputeRun.objects.get(pk=run_id)
    if run.status != RecomputeRun.Status.RUNNING:
        return run
    as_of = run.as_of
    with transaction.atomic():
        if rows is None:
            rows = [row for chunk in RecomputeChunk.objects.filter(run_id=run_id).order_by("first_account_id")
                    for row in chunk.rows]  # fmt: skip
        AccountMetrics.objects.filter(as_of=as_of).delete()
        HealthScore.objects.filter(as_of=as_of).delete()
        bulk_insert(
            AccountMetrics,
            ["account_id", "as_of", *METRIC_COLUMNS, "journey_stage_id"],
            ([r[0], as_of, *r[1 : 1 + len(METRIC_COLUMNS)], r[1 + len(METRIC_COLUMNS)]] for r in rows),
        )
        k = 2 + len(METRIC_COLUMNS)
        bulk_insert(
            HealthScore,
            ["account_id", "as_of", "score", "band", "scorecard_id", "measures", "tier_id", "touch_model"],
            ([r[0], as_of, r[k], r[k + 1], r[k + 2], r[k + 3], r[k + 4], ""] for r in rows),
        )
        # The day's rows compare with the day SLIPPING_DAYS before; a day published after it (a
        # re-run of a past date) compares with this one, so it is refreshed too.
        health_scores_mark_slipping(day=as_of)
        health_scores_mark_slipping(day=as_of + timedelta(days=SLIPPING_DAYS))
        segments = segments_recompute(as_of=as_of)
        from plays.services import plays_fire  # noqa: PLC0415 - the pipeline app will own this call
        plays_fire(day=as_of)
        segment_days_write(day=as_of)
        vertical_days_rollup(start=as_of)
        revenue_day_write(day=as_of)
        bands = Counter(r[k + 1] for r in rows)
        RecomputeRun.objects.filter(pk=run_id).update(
            status=RecomputeRun.Status.SUCCEEDED, finished_at=timezone.now(), active_lock=None,
            accounts_scored=sum(1 for r in rows if r[k] is not None),
            error="",
        )  # fmt: skip
        RecomputeChunk.objects.filter(run_id=run_id).delete()
    run.refresh_from_db()
    run.bands = dict(bands)
    run.segments = segments
    return run


def health_scores_mark_slipping(*, day: date) -> int:
    """Fills `score_30d_ago` and `slipping` on the HealthScore rows of `day` (two set-based
    UPDATEs; idempotent): the score SLIPPING_DAYS before, and whether the score fell by
    SLIPPING_POINTS or more since (False when either score is missing). Returns the rows updated."""
    rows = HealthScore.objects.filter(as_of=day)
    then = HealthScore.objects.filter(account_id=OuterRef("account_id"), as_of=day - timedelta(days=SLIPPING_DAYS))
    updated = rows.update(score_30d_ago=Subquery(then.values("score")[:1]))
    if updated:
        fell = When(score__isnull=False, score_30d_ago__isnull=False, score__lte=F("score_30d_ago") - SLIPPING_POINTS, then=True)
        rows.update(slipping=Case(fell, default=False))
    return updated


def recompute(*, as_of: date, trigger: str = "manual", chunk_size: int | None = None) -> RecomputeRun:
    """The whole recompute, synchronously in this process (the command and eager Celery use it)."""
    run = recompute_start(as_of=as_of, trigger=trigger)
    if run.status == RecomputeRun.Status.REFUSED:
        raise RecomputeRefused(run)
    return recompute_execute(run_id=run.pk, chunk_size=chunk_size)


def recompute_execute(*, run_id: int, chunk_size: int | None = None) -> RecomputeRun:
    started = time.monotonic()
    # In one process, chunks only bound the size of each query: larger ones, and no detour
    # through the chunk table.
    chunks = account_chunks(chunk_size or SYNC_CHUNK_SIZE)
    recompute_mark_running(run_id=run_id, chunks=len(chunks))
    as_of = RecomputeRun.objects.values_list("as_of", flat=True).get(pk=run_id)
    try:
        rules = _Rules()
        rows = []
        for first_id, last_id in chunks:
            rows.extend(compute_rows(as_of=as_of, first_id=first_id, last_id=last_id, rules=rules))
            RecomputeRun.objects.filter(pk=run_id).update(chunks_done=F("chunks_done") + 1)
        run = recompute_publish(run_id=run_id, rows=rows)
    except Exception as exc:
        log.exception("recompute run %s failed", run_id)
        recompute_fail(run_id=run_id, error=f"{exc.__class__.__name__}: {exc}")
        raise
    run.wall_seconds = time.monotonic() - started
    return run


def recompute_enqueue(*, as_of: date, trigger: str = "manual") -> RecomputeRun:
    """Records the run and hands it to the workers once the surrounding transaction commits."""
    from health.tasks import recompute_run_task

    run = recompute_start(as_of=as_of, trigger=trigger)
    if run.status != RecomputeRun.Status.REFUSED:
        transaction.on_commit(lambda: recompute_run_task.delay(run.pk))
    return run
