"""Celery tasks of the recompute: thin wrappers over pipeline.services (ids and dates in, no logic)."""

from celery import chord, shared_task
from django.conf import settings
from django.utils import timezone

from pipeline import freshness, services
from pipeline.models import RecomputeRun

CHUNK_SOFT_LIMIT = 20 * 60
CHUNK_HARD_LIMIT = 25 * 60


@shared_task(bind=True, soft_time_limit=5 * 60, time_limit=6 * 60, expires=6 * 60 * 60, max_retries=20)
def nightly_recompute(self):
    """Beat entry (02:00 TIME_ZONE, editable in the admin): recompute today's results."""
    run = services.recompute_start(as_of=timezone.localdate(), trigger="nightly")
    if run.status != RecomputeRun.Status.REFUSED:
        recompute_run_task.delay(run.pk)
    elif RecomputeRun.objects.filter(active_lock=True, trigger__startswith=freshness.INCREMENTAL).exists():
        # An incremental run holds the lock for seconds: the night's run waits for it, not skips.
        raise self.retry(countdown=INCREMENTAL_WAIT)
    return run.pk


@shared_task(soft_time_limit=5 * 60, time_limit=6 * 60)
def recompute_run_task(run_id: int):
    """Fans a queued run out: one task per chunk of accounts, then one publish step."""
    if recompute_run_task.app.conf.task_always_eager:
        # No workers (the embedded demo): compute in this process.
        services.recompute_execute(run_id=run_id)
        return run_id
    chunks = services.account_chunks(settings.RECOMPUTE_CHUNK_SIZE)
    services.recompute_mark_running(run_id=run_id, chunks=len(chunks))
    if not chunks:
        recompute_publish_task.delay(run_id)
        return run_id
    chord(
        (recompute_chunk_task.si(run_id, first, last) for first, last in chunks),
        recompute_publish_task.si(run_id),
    ).delay()
    return run_id


@shared_task(soft_time_limit=CHUNK_SOFT_LIMIT, time_limit=CHUNK_HARD_LIMIT, acks_late=True)
def recompute_chunk_task(run_id: int, first_id: int, last_id: int):
    try:
        return services.recompute_chunk(run_id=run_id, first_id=first_id, last_id=last_id)
    except Exception as exc:
        # The run fails as a whole; the chord's publish step will then not run.
        services.recompute_fail(run_id=run_id, error=f"chunk {first_id}–{last_id}: {exc.__class__.__name__}: {exc}")
        raise


@shared_task(soft_time_limit=CHUNK_SOFT_LIMIT, time_limit=CHUNK_HARD_LIMIT)
def recompute_publish_task(run_id: int):
    try:
        services.publish(run_id=run_id)
    except Exception as exc:
        services.recompute_fail(run_id=run_id, error=f"publish: {exc.__class__.__name__}: {exc}")
        raise
    return run_id


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
