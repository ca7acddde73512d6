"""core.bulk: a connection that dies during a COPY raises Django's OperationalError (what the
recompute's chunk and publish tasks retry on a fresh connection), not psycopg2's own."""

import psycopg2
import pytest
from django.db import OperationalError, connection

from accounts.models import Feature
from core.bulk import bulk_insert
from tests.pipeline.test_tasks import database_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]


def test_a_connection_killed_before_a_copy_raises_djangos_operational_error():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = psycopg2.connect(database_url())
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])  # this test's own connection only
    other.close()

    with pytest.raises(OperationalError):
        bulk_insert(Feature, ["key", "name"], [("copied", "Copied")])
    connection.close()
    bulk_insert(Feature, ["key", "name"], [("copied", "Copied")])  # a fresh connection works
    assert Feature.objects.filter(key="copied").exists()
