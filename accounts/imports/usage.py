"""`import_usage` (SPEC §4.2): daily usage per account, date and feature, at telemetry volume.

Rows are parsed and checked while the file streams (never all in memory). On PostgreSQL the valid
rows stream into a temporary table with COPY and land with one set-based upsert; elsewhere (the
SQLite demo) they are upserted in batches. A repeated (account, date, feature) in one file: the
last row wins, as a re-import would.
"""

import re
import tempfile
from typing import BinaryIO

from django.db import connection, transaction

from accounts.freshness import Reason, dirty_accounts_mark
from accounts.imports.common import (
    CsvSource,
    ImportFailed,
    ImportResult,
    Progress,
    RowChecks,
    RowInvalid,
    file_size,
    parse_date,
    parse_int,
    parse_required,
    shown,
)
from accounts.imports.usage_copy import CopyRejected, import_usage_copy
from accounts.models import Account, Feature, UsageDaily
from core.bulk import copy_wrapped

REQUIRED = ("account_external_id", "date", "feature", "events", "active_users")
SQLITE_BATCH = 5000


def _feature_name(key: str) -> str:
    return key.replace("_", " ").replace("-", " ").strip().capitalize() or key


def normalize_feature_key(raw: str) -> str:
    """'Calendar Sync' → 'calendar_sync' (the SQL twin is usage_copy.normal_key_sql)."""
    return re.sub(r"[^a-z0-9]+", "_", raw.strip().lower()).strip("_")[:80]


class _FeatureIds:
    """Feature key → id, creating unknown features (inside the import's transaction).

    A key is used as written when such a feature exists, else in its normal form.
    """

    def __init__(self):
        self.ids = dict(Feature.objects.values_list("key", "pk"))

    def get(self, raw: str) -> int:
        key = raw.strip()
        pk = self.ids.get(key)
        if pk is None:
            normal = normalize_feature_key(key)
            if not normal:
                raise RowInvalid("feature", f"'{shown(raw)}' is not a usable feature key (letters, digits, _ or -)")
            pk = self.ids.get(normal)
            if pk is None:
                pk = Feature.objects.create(key=normal, name=_feature_name(normal)).pk
                self.ids[normal] = pk
            self.ids[key] = pk
        return pk


def _parsed_rows(source: CsvSource, result: ImportResult, progress: Progress):
    """Yields (line, account_id, date, feature_id, events, active_users) of valid rows."""
    accounts = dict(Account.objects.values_list("external_id", "pk"))
    features = _FeatureIds()
    col = source.index
    i_acc, i_date, i_feat, i_ev, i_au = (col[c] for c in REQUIRED)
    count = 0
    for line, cells in source.rows():
        count += 1
        if count % 10000 == 0:
            progress.update(count, source.bytes_read())
        checks = RowChecks()
        external_id = checks.cell(parse_required, cells[i_acc], "account_external_id")
        account_id = accounts.get(external_id) if external_id is not None else None
        if external_id is not None and account_id is None:
            checks.problem("account_external_id", f"unknown account '{shown(external_id)}'")
        day = checks.cell(parse_date, cells[i_date], "date", required=True)
        key = checks.cell(parse_required, cells[i_feat], "feature")
        feature_id = checks.cell(features.get, key) if key is not None else None
        events = checks.cell(parse_int, cells[i_ev], "events", required=True)
        active_users = checks.cell(parse_int, cells[i_au], "active_users")
        if checks.report(line, result):
            continue
        yield line, account_id, day, feature_id, events, active_users or 0
    progress.update(count, source.bytes_read())


def import_usage(fileobj: BinaryIO, *, skip_invalid: bool = False, progress: Progress | None = None) -> ImportResult:
    """Upserts daily usage rows; all-or-nothing unless `skip_invalid`."""
    progress = progress or Progress(file_size(fileobj), enabled=False)
    source = CsvSource(fileobj, required=REQUIRED)
    if connection.vendor == "postgresql":
        result = ImportResult()
        try:
            with transaction.atomic():
                valid = import_usage_copy(
                    fileobj, source.header, skip_invalid=skip_invalid, result=result, progress=progress
                )
                if result.error_count and not skip_invalid:
                    raise _RollBack
        except _RollBack:
            result.created = result.updated = 0
            return result
        except CopyRejected:
            source.rewind()  # read it again, row by row
        else:
            return _finish(result, valid)
    result = ImportResult()
    try:
        with transaction.atomic():
            rows = _parsed_rows(source, result, progress)
            if connection.vendor == "postgresql":
                valid = _write_postgresql(rows, result, progress, skip_invalid=skip_invalid)
            else:
                valid = _write_batches(rows, result)
            if result.error_count and not skip_invalid:
                raise _RollBack
    except _RollBack:
        result.created = result.updated = 0
        return result
    return _finish(result, valid)


def _finish(result: ImportResult, valid: int) -> ImportResult:
    if not valid and not result.error_count:
        raise ImportFailed("the file has a header row but no data rows")
    result.skipped = result.error_rows
    result.written = True
    return result


class _RollBack(Exception):
    """Leaves the transaction without writing: some row was invalid."""


def _write_postgresql(rows, result: ImportResult, progress: Progress, *, skip_invalid: bool) -> int:
    valid = 0
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="") as buffer:
        write = buffer.write
        for line, account_id, day, feature_id, events, active_users in rows:
            write(f"{line}\t{account_id}\t{day.isoformat()}\t{feature_id}\t{events}\t{active_users}\n")
            valid += 1
        if (result.error_count and not skip_invalid) or not valid:
            return valid  # nothing to load: the caller rolls back or reports an empty file
        buffer.seek(0)
        progress.stage(f"{valid:,} valid rows read; loading")
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.usage_staging")
            cursor.execute(
                "CREATE TEMPORARY TABLE usage_staging (line integer, account_id bigint, date date,"
                " feature_id bigint, events integer, active_users integer) ON COMMIT DROP"
            )
            copy_wrapped(
                cursor,
                "COPY usage_staging (line, account_id, date, feature_id, events, active_users) FROM STDIN",
                buffer,
                1 << 20,
            )
            # (xmax = 0) is true for a freshly inserted row, false for one updated by ON CONFLICT.
            cursor.execute(
                f"""
                WITH upserted AS (
                    INSERT INTO {UsageDaily._meta.db_table} (account_id, date, feature_id, events, active_users)
                    SELECT DISTINCT ON (account_id, date, feature_id) account_id, date, feature_id, events, active_users
                    FROM usage_staging
                    ORDER BY account_id, date, feature_id, line DESC
                    ON CONFLICT (account_id, date, feature_id)
                    DO UPDATE SET events = EXCLUDED.events, active_users = EXCLUDED.active_users
                    WHERE ({UsageDaily._meta.db_table}.events, {UsageDaily._meta.db_table}.active_users)
                        IS DISTINCT FROM (EXCLUDED.events, EXCLUDED.active_users)
                    RETURNING (xmax = 0) AS inserted
                )
                SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
                """
            )
            result.created, result.updated = cursor.fetchone()
            cursor.execute("SELECT count(DISTINCT (account_id, date, feature_id)) FROM usage_staging")
            result.unchanged = cursor.fetchone()[0] - result.created - result.updated
            dirty_accounts_mark(sql="SELECT account_id FROM usage_staging", reason=Reason.USAGE)
            cursor.execute("DROP TABLE usage_staging")
    return valid


def _write_batches(rows, result: ImportResult) -> int:
    valid = 0
    batch: dict[tuple, UsageDaily] = {}

    def flush():
        # Rows already stored with the same values are counted as unchanged and not written again.
        existing = {
            (a, d, f): (e, u)
            for a, d, f, e, u in UsageDaily.objects.filter(
                account_id__in={k[0] for k in batch},
                date__in={k[1] for k in batch},
                feature_id__in={k[2] for k in batch},
            ).values_list("account_id", "date", "feature_id", "events", "active_users")
        }
        for key, row in list(batch.items()):
            if key not in existing:
                result.created += 1
            elif existing[key] == (row.events, row.active_users):
                result.unchanged += 1
                del batch[key]
            else:
                result.updated += 1
        UsageDaily.objects.bulk_create(
            batch.values(),
            update_conflicts=True,
            unique_fields=["account", "date", "feature"],
            update_fields=["events", "active_users"],
        )
        batch.clear()

    accounts: set[int] = set()
    for _line, account_id, day, feature_id, events, active_users in rows:
        valid += 1
        accounts.add(account_id)
        batch[(account_id, day, feature_id)] = UsageDaily(
            account_id=account_id, date=day, feature_id=feature_id, events=events, active_users=active_users
        )
        if len(batch) >= SQLITE_BATCH:
            flush()
    if batch:
        flush()
    dirty_accounts_mark(ids=accounts, reason=Reason.USAGE)
    return valid
