"""Celery tasks of plays: deliveries (retried with exponential backoff), the daily digest, the sweep."""

from celery import shared_task
from django.utils import timezone

from plays import services


@shared_task(bind=True, max_retries=services.MAX_ATTEMPTS - 1, acks_late=True, soft_time_limit=60, time_limit=90)
def deliver(self, delivery_id: int):
    """One attempt of a delivery; on failure, retried after 2ⁿ × PLAYS_RETRY_BACKOFF seconds, up to 5 times."""
    if self.request.is_eager:
        # No workers (the embedded demo, tests): the retries run at once, as Celery's eager mode
        # ignores countdowns anyway (and its Retry would propagate into the caller).
        for retry in range(self.max_retries + 1):
            status = services.delivery_attempt(delivery_id=delivery_id, final=retry >= self.max_retries)
            if status != "pending":
                return status
        return status
    final = self.request.retries >= self.max_retries
    status = services.delivery_attempt(delivery_id=delivery_id, final=final)
    if status == "pending":
        raise self.retry(countdown=services.retry_delay(self.request.retries + 1))
    return status


@shared_task(soft_time_limit=10 * 60, time_limit=11 * 60, expires=6 * 60 * 60)
def daily_digest():
    """Beat entry (07:00 TIME_ZONE): each CSM's digest email."""
    return services.digest_send(day=timezone.localdate())


@shared_task(soft_time_limit=5 * 60, time_limit=6 * 60, expires=30 * 60)
def deliveries_sweep():
    """Beat entry (every 15 minutes): re-queue deliveries the broker never took."""
    return services.deliveries_sweep()
