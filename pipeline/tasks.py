"""Celery tasks of the recompute: thin wrappers over pipeline.services (ids and dates in, no logic).

Every task is acknowledged late and rejected (redelivered) when its worker process is lost
(settings: CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST); chunks and publish are
idempotent, so a second delivery stores nothing twice. No chord: the chunk that completes the set
queues the publish, and the watchdog queues it again for a run whose publish message was lost.
"""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from accounts.models import DirtyAccount
from pipeline import freshness, services
from pipeline.models import RecomputeRun

# A chunk of RECOMPUTE_CHUNK_SIZE (5,000) accounts takes seconds (100,000 accounts: ~20 s in all);
# the limits stay below the broker's visibility timeout (CELERY_BROKER_TRANSPORT_OPTIONS).
CHUNK_SOFT_LIMIT = 10 * 60
CHUNK_HARD_LIMIT = 12 * 60
# A task whose database connection died (PostgreSQL restarted, its backend terminated) retries on
# a fresh connection this many times, this many seconds apart, before the run is failed.
CONNECTION_RETRIES = 3
CONNECTION_RETRY_COUNTDOWN = 2


@shared_task(bind=True, soft_time_limit=5 * 60, time_limit=6 * 60, expires=6 * 60 * 60, max_retries=20)
def nightly_recompute(self):
    """Beat entry (02:00 TIME_ZONE, editable in the admin): recompute today's results."""
    run = services.recompute_enqueue(as_of=timezone.localdate(), trigger="nightly")
    if (
        run.status == RecomputeRun.Status.REFUSED
        and RecomputeRun.objects.filter(active_lock=True, trigger__startswith=freshness.INCREMENTAL).exists()
    ):
        # An incremental run holds the lock for seconds: the night's run waits for it, not skips.
        raise self.retry(countdown=INCREMENTAL_WAIT)
    return run.pk


@shared_task(soft_time_limit=5 * 60, time_limit=6 * 60, ignore_result=True)
def recompute_run_task(run_id: int):
    """Fans a queued run out: one task per chunk of accounts; the last chunk stored queues publish."""
    if recompute_run_task.app.conf.task_always_eager:
        # No workers (the embedded demo): compute in this process.
        services.recompute_execute(run_id=run_id)
        return run_id
    chunks = services.account_chunks(settings.RECOMPUTE_CHUNK_SIZE)
    if not services.recompute_mark_running(run_id=run_id, chunks=len(chunks)):
        return run_id  # delivered again after it fanned out, or cancelled meanwhile
    try:
        if not chunks:
            recompute_publish_task.delay(run_id)
        for first, last in chunks:
            recompute_chunk_task.delay(run_id, first, last)
    except Exception as exc:
        services.recompute_fail(run_id=run_id, error=f"not queued: {exc.__class__.__name__}: {exc}")
        raise
    return run_id


@shared_task(
    bind=True,
    soft_time_limit=CHUNK_SOFT_LIMIT,
    time_limit=CHUNK_HARD_LIMIT,
    max_retries=CONNECTION_RETRIES,
    ignore_result=True,
)
def recompute_chunk_task(self, run_id: int, first_id: int, last_id: int):
    try:
        complete = services.recompute_chunk(run_id=run_id, first_id=first_id, last_id=last_id)
    except services.CONNECTION_ERRORS as exc:
        if self.request.retries < CONNECTION_RETRIES:
            services.connection_reset()
            raise self.retry(countdown=CONNECTION_RETRY_COUNTDOWN, exc=exc) from None
        services.recompute_fail(run_id=run_id, error=f"chunk {first_id}–{last_id}: {exc.__class__.__name__}: {exc}")
        raise
    except Exception as exc:
        # The run fails as a whole; no publish will be queued for it.
        services.recompute_fail(run_id=run_id, error=f"chunk {first_id}–{last_id}: {exc.__class__.__name__}: {exc}")
        raise
    if complete:
        recompute_publish_task.delay(run_id)


@shared_task(
    bind=True,
    soft_time_limit=CHUNK_SOFT_LIMIT,
    time_limit=CHUNK_HARD_LIMIT,
    max_retries=CONNECTION_RETRIES,
    ignore_result=True,
)
def recompute_publish_task(self, run_id: int):
    try:
        services.publish(run_id=run_id)
    except services.CONNECTION_ERRORS as exc:
        if self.request.retries < CONNECTION_RETRIES:
            services.connection_reset()
            raise self.retry(countdown=CONNECTION_RETRY_COUNTDOWN, exc=exc) from None
        services.recompute_fail(run_id=run_id, error=f"publish: {exc.__class__.__name__}: {exc}")
        raise
    except Exception as exc:
        services.recompute_fail(run_id=run_id, error=f"publish: {exc.__class__.__name__}: {exc}")
        raise
    return run_id


@shared_task(soft_time_limit=50, time_limit=55, expires=60, ignore_result=True)
def recompute_watchdog_task():
    """Beat, every minute: frees the lock of a run making no progress (pipeline.services.recompute_watchdog).

    A stalled full run whose chunks are all stored is published; another stalled full run is failed
    and, once, started again for its date (trigger `retry`), so a night's run lost with its worker or
    broker still publishes; a stalled incremental run is failed and its released marks scheduled again.
    """
    outcome = services.recompute_watchdog(republish=recompute_publish_task.delay)
    for run in outcome["failed"]:
        if run.trigger.startswith(freshness.INCREMENTAL):
            if DirtyAccount.objects.filter(claimed_by__isnull=True).exists():
                freshness.incremental_schedule()
        elif run.trigger != RETRY_TRIGGER:
            services.recompute_enqueue(as_of=run.as_of, trigger=RETRY_TRIGGER)
    return {"failed": [run.pk for run in outcome["failed"]], "republished": outcome["republished"]}


RETRY_TRIGGER = "retry"  # a run the watchdog started again: not retried a second time

# How long a run that found the lock taken waits before trying again; an incremental run's backoff
# after a failure (doubling from FRESHNESS_DEBOUNCE_SECONDS, at most INCREMENTAL_MAX_BACKOFF).
INCREMENTAL_WAIT = 10
INCREMENTAL_MAX_BACKOFF = 10 * 60


@shared_task(bind=True, soft_time_limit=CHUNK_SOFT_LIMIT, time_limit=CHUNK_HARD_LIMIT, max_retries=60)
def incremental_run_task(self, run_id: int):
    """The debounced incremental run (SPEC §4.5): re-scores today's dirty accounts.

    Busy (a full or another incremental run holds the lock): retry in INCREMENTAL_WAIT seconds,
    still scheduled, so writes meanwhile join this run. Failed: marks and previous results kept,
    retried with backoff. Eagerly (the embedded demo) neither waits: the next write schedules again.
    """
    eager = bool(self.request.is_eager)
    try:
        freshness.incremental_execute(run_id=run_id)
    except freshness.IncrementalBusy as exc:
        if eager:
            return run_id
        raise self.retry(countdown=INCREMENTAL_WAIT, exc=exc) from None
    except Exception as exc:
        if eager or not freshness.incremental_retry(run_id=run_id):
            raise
        backoff = min(settings.FRESHNESS_DEBOUNCE_SECONDS * 2**self.request.retries, INCREMENTAL_MAX_BACKOFF)
        raise self.retry(countdown=max(backoff, 1), exc=exc) from None
    return run_id
