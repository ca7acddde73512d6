"""Celery tasks of plays: deliveries (in batches, then retried one by one with exponential backoff),
the daily digest, the sweep."""

from celery import shared_task
from django.utils import timezone

from plays import services


def _deliver_now(delivery_id: int, tries: int) -> str:
    # No workers (the embedded demo, tests): the retries run at once, as Celery's eager mode
    # ignores countdowns anyway (and its Retry would propagate into the caller).
    for retry in range(tries):
        status = services.delivery_attempt(delivery_id=delivery_id, final=retry >= tries - 1)
        if status != "pending":
            return status
    return status


# Nobody reads these tasks' return values: not storing them saves a result-backend write per task.
@shared_task(
    bind=True,
    max_retries=services.MAX_ATTEMPTS - 1,
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def deliver(self, delivery_id: int, attempts_before: int = 0):
    """One attempt of a delivery; on failure, retried after 2ⁿ × PLAYS_RETRY_BACKOFF seconds, up to
    MAX_ATTEMPTS attempts in all (`attempts_before`: those a batch made already)."""
    if self.request.is_eager:
        return _deliver_now(delivery_id, services.MAX_ATTEMPTS - attempts_before)
    retries = self.request.retries + attempts_before
    status = services.delivery_attempt(delivery_id=delivery_id, final=retries >= self.max_retries)
    if status == "pending":
        raise self.retry(countdown=services.retry_delay(retries + 1))
    return status


@shared_task(acks_late=True, soft_time_limit=5 * 60, time_limit=6 * 60, ignore_result=True)
def deliver_batch(delivery_ids: list[int]):
    """The first attempt of up to services.DELIVERY_BATCH deliveries in one task; those that need
    another attempt (or were held back after their receiver failed) continue as `deliver` tasks."""
    if deliver_batch.request.is_eager:
        for pk in delivery_ids:
            _deliver_now(pk, services.MAX_ATTEMPTS)
        return
    statuses = services.deliveries_attempt(delivery_ids=delivery_ids)
    for pk in delivery_ids:
        status = statuses.get(pk)
        if status == "pending":  # failed once: the backoff starts
            deliver.apply_async((pk, 1), countdown=services.retry_delay(1))
        elif status is None:  # held back (its receiver failed in this batch) or no longer pending
            deliver.apply_async((pk, 0))


@shared_task(soft_time_limit=10 * 60, time_limit=11 * 60, expires=6 * 60 * 60)
def daily_digest():
    """Beat entry (07:00 TIME_ZONE): each CSM's digest email."""
    return services.digest_send(day=timezone.localdate())


@shared_task(soft_time_limit=5 * 60, time_limit=6 * 60, expires=30 * 60)
def deliveries_sweep():
    """Beat entry (every 15 minutes): re-queue deliveries the broker never took."""
    return services.deliveries_sweep()
