"""The admin import as a Celery task (issue 15, point 6): the upload is stored and queued, the page
polls its progress with HTMX (no inline script), the result replaces it; too large a file is refused
with a clear message, before its body is read."""

import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from accounts.imports.jobs import progress_key
from accounts.models import ImportJob, UsageDaily
from accounts.tasks import import_job_task
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
USAGE = b"account_external_id,date,feature,events,active_users\nA1,2026-06-01,x,1,1\nA1,2026-06-02,x,2,1\n"


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def admin_client(client_for, cs_admin):
    AccountFactory(external_id="A1")
    return client_for(cs_admin)


def upload(client, body: bytes = USAGE, **data):
    return client.post(
        reverse("admin:accounts_import"), {"kind": "usage", "file": SimpleUploadedFile("u.csv", body), **data}
    )


def test_an_upload_is_queued_and_the_page_polls_until_the_result(admin_client, tmp_path):
    response = upload(admin_client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:accounts_import_job", args=[job.pk])
    assert job.status == "queued" and job.size == len(USAGE) and not UsageDaily.objects.exists()
    stored = tmp_path / "media" / job.file.name
    assert stored.read_bytes() == USAGE

    page = admin_client.get(response["Location"]).content.decode()
    status_url = reverse("admin:accounts_import_job_status", args=[job.pk])
    assert f'hx-get="{status_url}"' in page and 'hx-trigger="every 2s"' in page and "Queued" in page
    assert "django_htmx/htmx-2.min.js" in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "no inline script (CSP)"

    cache.set(progress_key(job.pk), {"rows": 1234, "bytes": len(USAGE), "stage": "checking rows"})
    partial = admin_client.get(status_url).content.decode()
    assert "1234 rows" in partial and "checking rows" in partial and "100%" in partial

    import_job_task(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.result["created"] == 2 and UsageDaily.objects.count() == 2
    assert not stored.exists(), "the upload is deleted once imported"
    partial = admin_client.get(status_url).content.decode()
    assert "hx-get" not in partial and "Daily usage from u.csv — imported: 2 created" in partial

    import_job_task(job.pk)  # a redelivered task does nothing
    assert UsageDaily.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_in_eager_mode_the_import_runs_as_the_request_commits(admin_client):
    page = upload(admin_client, USAGE + b"NOPE,2026-06-01,x,1,1\n").content.decode()
    assert page == ""
    job = ImportJob.objects.get()
    assert job.status == "done" and not job.result["written"]
    page = admin_client.get(reverse("admin:accounts_import_job", args=[job.pk])).content.decode()
    assert "nothing was written" in page and "line 4: account_external_id: unknown account" in page
    assert "hx-get" not in page


@override_settings(IMPORT_UPLOAD_MAX_SIZE=100)
def test_a_file_over_the_limit_is_refused_with_a_clear_message(admin_client):
    response = upload(admin_client, USAGE * 3)
    assert response.status_code == 200 and not ImportJob.objects.exists()
    assert "The file is larger than 100\xa0bytes (100 bytes), the most one upload may be" in response.content.decode()


class Unread:
    def __init__(self):
        self.read_bytes = 0

    def read(self, n=-1):
        self.read_bytes += 1
        return b""

    readline = read


@override_settings(IMPORT_UPLOAD_MAX_SIZE=1024)
def test_a_body_over_the_limit_is_refused_before_it_is_read(admin_client):
    body = Unread()
    response = admin_client.generic(
        "POST",
        reverse("admin:accounts_import"),
        b"",
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(200 << 20),
        **{"wsgi.input": body},
    )
    assert response.status_code == 413 and "The file is larger than 1.0\xa0KB" in response.content.decode()
    assert body.read_bytes == 0 and not ImportJob.objects.exists()


@pytest.mark.parametrize("who", ["csm", "leader"])
def test_job_pages_are_closed_to_csm_and_leader(request, client_for, cs_admin, who):
    job = ImportJob.objects.create(kind="usage", filename="u.csv", created_by=cs_admin)
    for name in ("admin:accounts_import_job", "admin:accounts_import_job_status"):
        response = client_for(request.getfixturevalue(who)).get(reverse(name, args=[job.pk]))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
