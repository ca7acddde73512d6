"""WEB_STATEMENT_TIMEOUT_MS: web requests (the WSGI app) get a PostgreSQL statement_timeout;
workers and commands do not; a request that hits it gets a clear 503 in the API's error format.
settings_local: settings for the statements inside it only."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts import api_ingest
from core.db import add_statement_timeout, settings_local
from people.models import ApiToken
from people.services import api_token_create

ROOT = Path(__file__).resolve().parents[2]
SHOW = "from django.db import connection; c = connection.cursor(); c.execute('SHOW statement_timeout'); print(c.fetchone()[0])"


def test_the_option_is_added_to_postgresql_only():
    pg = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"options": "-c jit=off"}}
    add_statement_timeout(pg, 1500)
    assert pg["OPTIONS"]["options"] == "-c jit=off -c statement_timeout=1500"
    sqlite = {"ENGINE": "django.db.backends.sqlite3"}
    add_statement_timeout(sqlite, 1500)
    assert "OPTIONS" not in sqlite
    off = {"ENGINE": "django.db.backends.postgresql"}
    add_statement_timeout(off, 0)
    assert "OPTIONS" not in off


def _show(code: str, **env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "cs_portal.settings", **env},
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_the_web_process_has_the_timeout_and_commands_do_not():
    url = f"{os.environ['DATABASE_URL'].rsplit('/', 1)[0]}/{connection.settings_dict['NAME']}"
    web = _show(f"import cs_portal.wsgi; {SHOW}", DATABASE_URL=url, WEB_STATEMENT_TIMEOUT_MS="1234")
    command = _show(f"import django; django.setup(); {SHOW}", DATABASE_URL=url, WEB_STATEMENT_TIMEOUT_MS="1234")
    assert (web, command) == ("1234ms", "0")
    assert settings.WEB_STATEMENT_TIMEOUT_MS == 25_000


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_a_request_stopped_by_the_timeout_is_a_503_in_the_error_format(csm, monkeypatch):
    def slow_import(fileobj, **kwargs):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 50")
            cursor.execute("SELECT pg_sleep(2)")

    monkeypatch.setattr(api_ingest, "import_usage", slow_import)
    token = api_token_create(user=csm, name="pipeline", scope=ApiToken.SCOPE_INGEST)[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(
        "/api/v1/usage/",
        [{"account_external_id": "A1", "date": "2026-06-01", "feature": "x", "events": 1}],
        format="json",
    )
    assert response.status_code == 503
    assert "took too long and was stopped" in response.json()["errors"][0]["message"]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL settings")
def test_settings_local_holds_inside_and_puts_the_settings_back(settings):
    def show(name):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting(%s)", [name])
            return cursor.fetchone()[0]

    before = show("work_mem"), show("enable_sort")
    with settings_local(work_mem="37MB", enable_sort="off"):
        assert (show("work_mem"), show("enable_sort")) == ("37MB", "off")
    assert (show("work_mem"), show("enable_sort")) == before
    with transaction.atomic():  # inside a transaction: a savepoint, the same
        with settings_local(work_mem="37MB"):
            assert show("work_mem") == "37MB"
        assert show("work_mem") == before[0]
    with pytest.raises(RuntimeError), settings_local(work_mem="37MB"):
        raise RuntimeError("the statement failed")
    assert show("work_mem") == before[0]
