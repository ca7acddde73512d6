"""Admin CSV imports as Celery tasks: the upload is stored, a task imports it, the page polls.

A 200 MB file imported inside the request hit gunicorn's 30 s timeout (issue 15). Now the request
only stores the file and queues `accounts.tasks.import_job_task`; in the embedded demo (eager
Celery) the task runs as the request commits, so the page shows the result at once.
"""

import contextlib
import logging
import time
from datetime import date

from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.imports.accounts import import_accounts
from accounts.imports.common import ImportFailed, Progress
from accounts.imports.nps import import_nps
from accounts.imports.usage import import_usage
from accounts.models import ImportJob

logger = logging.getLogger(__name__)

SERVICES = {"accounts": import_accounts, "usage": import_usage, "nps": import_nps}
PROGRESS_EVERY = 1.0  # seconds between two progress writes


def progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:progress"


class JobProgress(Progress):
    """Progress written to the cache (the import's transaction hides database writes until commit)."""

    def __init__(self, job: ImportJob):
        super().__init__(job.size, enabled=False)
        self.job_id, self.rows, self.bytes_done, self.text, self.written = job.pk, 0, 0, "reading the file", 0.0

    def update(self, rows: int, bytes_done: int | None = None) -> None:
        self.rows, self.bytes_done = rows, bytes_done or self.bytes_done
        self._save()

    def stage(self, text: str) -> None:
        self.text = text
        self._save(force=True)

    def _save(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.written < PROGRESS_EVERY:
            return
        self.written = now
        try:
            cache.set(
                progress_key(self.job_id), {"rows": self.rows, "bytes": self.bytes_done, "stage": self.text}, 3600
            )
        except Exception:  # noqa: BLE001 - progress is a nicety: a cache outage must not fail the import
            logger.warning("import job %s: progress not saved", self.job_id, exc_info=True)


def job_progress(job: ImportJob) -> dict:
    try:
        return cache.get(progress_key(job.pk)) or {}
    except Exception:  # noqa: BLE001 - as above
        return {}


def import_job_create(*, kind: str, upload: UploadedFile, skip_invalid: bool, as_of: date | None, user) -> ImportJob:
    """Stores the upload and queues its import once this transaction commits."""
    from accounts.tasks import import_job_task  # noqa: PLC0415 - tasks import this module

    job = ImportJob(
        kind=kind,
        filename=upload.name[:255],
        size=upload.size or 0,
        skip_invalid=skip_invalid,
        as_of=as_of,
        created_by=user,
    )
    job.file.save(upload.name, upload, save=False)
    job.save()
    transaction.on_commit(lambda: import_job_task.delay(job.pk))
    return job


def import_job_run(*, job_id: int) -> None:
    """Imports a queued job's file and records the result; a job already started is left alone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING
    )
    if not claimed:
        return
    job = ImportJob.objects.get(pk=job_id)
    kwargs = {"skip_invalid": job.skip_invalid, "progress": JobProgress(job)}
    if job.kind == "accounts":
        kwargs["as_of"] = job.as_of
    try:
        with job.file.open("rb") as fileobj:
            result = SERVICES[job.kind](fileobj, **kwargs)
    except ImportFailed as exc:
        job.status, job.failure = ImportJob.Status.FAILED, f"{job.filename}: {exc}"
    except Exception:
        job.status, job.failure = (
            ImportJob.Status.FAILED,
            f"{job.filename}: the import failed unexpectedly (see the logs)",
        )
        raise
    else:
        job.status = ImportJob.Status.DONE
        job.result = {
            "written": result.written,
            "summary": result.summary(),
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "skipped": result.skipped,
            "error_count": result.error_count,
            "error_rows": result.error_rows,
            "errors": result.error_lines(),
        }
    finally:
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "failure", "result", "finished_at"])
        job.file.delete(save=False)
        with contextlib.suppress(Exception):  # as above
            cache.delete(progress_key(job_id))
