"""Dirty accounts (SPEC §4.5 "Fresh between nights"): every write that changes what an account's
score depends on marks the account, in one set-based statement per write, and once the write
commits sends `accounts_dirtied`; the pipeline (a layer above) listens and schedules the debounced
incremental run. Claiming, clearing and releasing marks is done here too, for the pipeline's runs.
"""

import json
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone

from accounts.models import DirtyAccount

# Sent (after the marking transaction commits) with `reason`; the pipeline schedules a run.
accounts_dirtied = Signal()


class Reason:
    USAGE = "usage"
    NPS = "nps"
    ACCOUNT = "account"
    DRIVER = "driver"


def _ids_source(ids: QuerySet | Iterable[int]) -> tuple[str, list] | None:
    """SQL yielding one column of account ids, and its parameters (None: no ids)."""
    if isinstance(ids, QuerySet):
        sql, params = ids.query.sql_with_params()
        return sql, list(params)
    ids = sorted({int(i) for i in ids})
    if not ids:
        return None
    if connection.vendor == "postgresql":
        return "SELECT unnest(%s::bigint[])", [ids]
    return "SELECT value FROM json_each(%s)", [json.dumps(ids)]


def dirty_accounts_mark(
    *, ids: QuerySet | Iterable[int] | None = None, sql: str | None = None, params: list | tuple = (), reason: str
) -> int:
    """Marks the accounts of `ids` (a queryset of one id column, or ids) or of `sql` (a SELECT of
    one column of account ids, e.g. an import's staging table): one INSERT … SELECT DISTINCT … ON
    CONFLICT statement, whatever the number of rows. A mark already pending keeps its older
    `marked_at`; a claimed one is released and dated now (the claiming run may miss this change).
    A mark's reason `account` sticks until a run takes it: that run must know account fields
    (vertical, ARR, churn, use cases) changed, whatever was marked after (it then rewrites the
    day's rollups rather than move them by the accounts' difference).

    Nothing happens when FRESHNESS_ENABLED is off (the nightly run recomputes everyone anyway).
    Returns the rows written (inserted or updated).
    """
    if not settings.FRESHNESS_ENABLED:
        return 0
    if sql is None:
        source = _ids_source(ids if ids is not None else [])
        if source is None:
            return 0
        sql, params = source
    table = DirtyAccount._meta.db_table
    with connection.cursor() as cursor:
        # `WHERE true`: SQLite needs it to parse INSERT … SELECT … ON CONFLICT.
        cursor.execute(
            f"""WITH src(account_id) AS ({sql})
                INSERT INTO {table} (account_id, marked_at, reason)
                SELECT DISTINCT account_id, %s, %s FROM src WHERE account_id IS NOT NULL
                ON CONFLICT (account_id) DO UPDATE SET
                    marked_at = CASE WHEN {table}.claimed_by IS NULL AND {table}.marked_at < excluded.marked_at
                                     THEN {table}.marked_at ELSE excluded.marked_at END,
                    reason = CASE WHEN {table}.reason = %s THEN {table}.reason ELSE excluded.reason END,
                    claimed_by = NULL""",
            [*params, timezone.now(), reason, Reason.ACCOUNT],
        )
        written = cursor.rowcount
    if written:
        transaction.on_commit(lambda: accounts_dirtied.send(sender=DirtyAccount, reason=reason), robust=True)
    return written


def dirty_accounts_claim(*, run_id: int) -> int:
    """The run `run_id`, which holds the recompute lock, takes every pending mark (marks claimed by
    another run are that dead run's: only one run holds the lock at a time). It reads the data only
    after this statement, so each claimed mark's change is visible to it. Returns the marks taken."""
    return DirtyAccount.objects.exclude(claimed_by=run_id).update(claimed_by=run_id)


def dirty_accounts_clear(*, run_id: int) -> int:
    """Deletes the marks the run claimed (on its publish, in the publish's transaction)."""
    return DirtyAccount.objects.filter(claimed_by=run_id).delete()[0]


def dirty_accounts_release(*, run_id: int) -> int:
    """Gives the run's marks back (it failed): the next run takes them."""
    return DirtyAccount.objects.filter(claimed_by=run_id).update(claimed_by=None)
