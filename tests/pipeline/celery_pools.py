"""Shared by the tests that point the Celery app at a real broker for a while."""

from kombu import pools

from cs_portal.celery import app as celery_app


def celery_pools_reset() -> None:
    """Closes the app's broker connections and forgets its connection and producer pools, so the
    next task sent (eagerly or not) builds them afresh for the configuration then in force. Only
    closing them would leave the producer pool holding a closed pool: 'Acquire on closed pool' in
    whichever later test sends a task."""
    celery_app.pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    pools.reset()  # kombu's registry of producer pools, keyed by broker: it kept the closed one
