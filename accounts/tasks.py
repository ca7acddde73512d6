"""Celery tasks of the accounts app: thin wrappers over the import services (ids in, no logic)."""

from celery import shared_task

from accounts.imports.jobs import import_job_run

# Millions of usage rows take minutes; far from the workers' default hour.
IMPORT_SOFT_LIMIT = 30 * 60
IMPORT_HARD_LIMIT = 35 * 60


@shared_task(soft_time_limit=IMPORT_SOFT_LIMIT, time_limit=IMPORT_HARD_LIMIT)
def import_job_task(job_id: int) -> int:
    """Imports an admin upload (accounts.imports.jobs); a second run of the same job does nothing."""
    import_job_run(job_id=job_id)
    return job_id
