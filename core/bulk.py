"""Bulk inserts for the engine: COPY on PostgreSQL, batched bulk_create elsewhere."""

import io
import json
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction

# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# Rows are sent to the server in pieces of about this many characters (memory stays bounded).
_COPY_BATCH_CHARS = 4 << 20


def bulk_insert(model, columns: list[str], rows) -> None:
    """Inserts `rows` (sequences in `columns` order; lists/dicts are stored as JSON).

    On PostgreSQL one COPY (text format) per few megabytes of rows, all in one transaction. The same list or dict object
    in many rows (the engine shares one explanation between accounts scored alike) is encoded once.
    """
    if connection.vendor != "postgresql":
        objs = (model(**dict(zip(columns, row, strict=True))) for row in rows)
        model.objects.bulk_create(objs, batch_size=2000)
        return
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    encoded: dict[int, tuple[object, str]] = {}  # id → (the object, kept alive so ids stay unique; its text)

    def json_text(value) -> str:
        hit = encoded.get(id(value))
        if hit is None:
            hit = encoded[id(value)] = (value, json.dumps(value).translate(_TEXT_ESCAPES))
        return hit[1]

    def other_text(value) -> str:
        if isinstance(value, list | dict):
            return json_text(value)
        if isinstance(value, bool):
            return "t" if value else "f"
        return str(value).translate(_TEXT_ESCAPES)

    # By exact type, most values take one dict lookup (subclasses, e.g. of str, take the slow path).
    by_type = {
        int: str,
        float: repr,
        str: _escaped,
        type(None): _null,
        list: json_text,
        dict: json_text,
        bool: other_text,
        date: str,
        datetime: str,
        Decimal: str,
    }
    get = by_type.get

    lines: list[str] = []
    size = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            line = "\t".join([get(type(v), other_text)(v) for v in row])
            lines.append(line)
            size += len(line)
            if size >= _COPY_BATCH_CHARS:
                _copy(cursor, sql, lines)
                lines, size = [], 0
                encoded.clear()
        if lines:
            _copy(cursor, sql, lines)


def _escaped(value: str) -> str:
    return value.translate(_TEXT_ESCAPES)


def _null(value) -> str:
    return "\\N"


def _copy(cursor, sql: str, lines: list[str]) -> None:
    lines.append("")
    copy_wrapped(cursor, sql, io.StringIO("\n".join(lines)))


def copy_wrapped(cursor, sql: str, fileobj, size: int = 8192) -> None:
    """cursor.copy_expert with psycopg2's errors turned into Django's, as every other cursor call
    is (Django does not wrap copy_expert): a connection that dies mid-COPY raises
    django.db.OperationalError, which the callers retrying on a fresh connection look for, and the
    connection is marked unusable."""
    with connection.wrap_database_errors:
        cursor.copy_expert(sql, fileobj, size)
