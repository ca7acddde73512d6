"""Database settings that depend on the process (the web server's statement timeout), and how a
list of ids is passed to a filter."""

from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL

POSTGRESQL = "django.db.backends.postgresql"


def add_statement_timeout(database: dict, milliseconds: int) -> None:
    """Adds `-c statement_timeout` to a PostgreSQL database's connection options (in place).

    Called by cs_portal/wsgi.py only, before the first connection: web requests get a timeout
    (a query left running after gunicorn killed its worker ran on for 33 s, issue 15), while Celery
    workers and management commands — imports, the nightly recompute — keep none. 0 turns it off.
    """
    if database.get("ENGINE") != POSTGRESQL or milliseconds <= 0:
        return
    options = database.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c statement_timeout={int(milliseconds)}".strip()


def ids_in(ids):
    """The right-hand side of an `__in` filter on a list of ids: on PostgreSQL one array parameter
    (`IN (SELECT unnest(%s::bigint[]))`, which the planner counts as the array's length) rather than
    a placeholder per id, which Django builds and checks one by one — about 4 ms per thousand ids
    per filter, and the incremental run filters on its ids some seventy times. Elsewhere the list."""
    ids = list(ids)
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return ids


@contextmanager
def settings_local(**settings: str):
    """PostgreSQL settings (planner, work_mem…) for the statements run inside, in a transaction
    (a savepoint when one is open already), put back as they were after; elsewhere nothing."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        previous = {}
        for name, value in settings.items():
            cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
            previous[name] = cursor.fetchone()[0]
        yield
        for name, value in previous.items():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def key_share_every_row(table: str) -> None:
    """Locks every row of `table` FOR KEY SHARE until the transaction ends: none can be deleted (or
    its key changed) meanwhile, while updates of other columns go on. PostgreSQL only."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} FOR KEY SHARE) t")


# An account id range: (first, last), either end None for no bound.
IdRange = tuple[int | None, int | None]


def in_id_range(column: str, id_range: IdRange | None) -> tuple[str, list]:
    """SQL ` AND column >= %s AND column <= %s` (and its parameters) for `id_range`; each bound
    only when given, nothing at all for None."""
    if id_range is None:
        return "", []
    sql, params = "", []
    if id_range[0] is not None:
        sql, params = f" AND {column} >= %s", [id_range[0]]
    if id_range[1] is not None:
        sql, params = f"{sql} AND {column} <= %s", [*params, id_range[1]]
    return sql, params


def id_range_q(field: str, id_range: IdRange | None) -> Q:
    """The same as a Q on `field`."""
    q = Q()
    if id_range is not None and id_range[0] is not None:
        q &= Q(**{f"{field}__gte": id_range[0]})
    if id_range is not None and id_range[1] is not None:
        q &= Q(**{f"{field}__lte": id_range[1]})
    return q
