"""Bulk inserts for the engine: COPY on PostgreSQL, batched bulk_create elsewhere."""

import csv
import io
import json

from django.db import connection


def bulk_insert(model, columns: list[str], rows) -> None:
    """Inserts `rows` (sequences in `columns` order; lists/dicts are stored as JSON)."""
    if connection.vendor != "postgresql":
        objs = (model(**dict(zip(columns, row, strict=True))) for row in rows)
        model.objects.bulk_create(objs, batch_size=2000)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if v is None else json.dumps(v) if isinstance(v, list | dict) else v for v in row])
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )
