"""The PostgreSQL fast path of import_usage: the raw CSV goes into a temporary table with COPY, and
every check and the write run as set-based SQL — no Python per row.

The floor this path is measured against (benchmarks/bench_import_usage.py) is COPY into a typed
temporary table, a join per key and `INSERT … SELECT`; the path stays close to it by doing per row
only what the floor does, and everything else per *distinct value*:

- COPY types the numbers (PostgreSQL parses them as it loads) and keeps account, date and feature
  as text (FORCE_NOT_NULL: an empty cell is '', never NULL, so plain equality joins work). Dates
  stay text because PostgreSQL's date input takes far more than SPEC §4.2's YYYY-MM-DD ('today',
  'infinity', '1/5/2026'…); each distinct date is checked once, and the rows cast theirs on the
  way in, which costs less than COPY parsing them (measured).
- One pass (GROUPING SETS) lists the distinct accounts, and the distinct (date, feature) pairs
  with a flag for a negative or missing number among their rows; the three small lookup tables
  built from it resolve keys and say whether any row is bad.
- A clean file is written by one `INSERT … SELECT` joining the lookup tables. `ON CONFLICT` (the
  re-import upsert) costs about 1.6× a plain insert per row, so it is used only when some account
  of the file already has a row in the file's date range — one index probe per account tells.
- Only a file with a bad row pays for per-row checks: each row's problems (every bad cell of it),
  with its line number (rows are numbered in the order COPY stored them, the file's order), at
  most 50 reported.

No sequence fills a line column while loading (it cost ~25% of the COPY): line numbers are only
needed when some row is bad. A file COPY can't read as CSV (a blank line, a row with more cells
than the header, a broken quote, bad bytes) is left to the streaming path, which names the line.
Temporary tables are never WAL-logged; the usage table stays logged (durable).
"""

import psycopg2
from django.db import DatabaseError, IntegrityError, ProgrammingError, connection, transaction
from psycopg2 import errors as pg_errors

from accounts.freshness import Reason, dirty_accounts_mark
from accounts.imports.common import (
    MAX_CELL,
    MAX_REPORTED_ERRORS,
    SHOWN,
    CountingReader,
    ImportResult,
    Progress,
    record_start_lines,
    too_long,
)
from accounts.models import Account, Feature, UsageDaily

INT_MAX = 2_147_483_647
NEEDED = ("account_external_id", "date", "feature", "events", "active_users")
TEMP_TABLES = ("usage_staging", "usage_values", "usage_accounts", "usage_dates", "usage_features", "usage_checked")
# Hash tables of the distinct-value pass and the key joins (tens of thousands of accounts) fit
# in memory instead of spilling to disk; for this transaction only.
WORK_MEM = "64MB"


class CopyRejected(Exception):
    """COPY could not read the file as CSV: use the streaming path instead."""


def _copy(
    cursor, fileobj, columns: list[str], header: list[str], key_columns: list[str], progress: Progress, *, typed: bool
) -> tuple[int, int]:
    """Rows loaded, and newlines read (more than rows + 1 when a quoted cell spans lines)."""
    numbers = {"events", "active_users"} if typed else set()
    cursor.execute(
        "DROP TABLE IF EXISTS pg_temp.usage_staging;"
        "CREATE TEMPORARY TABLE usage_staging ("
        + ", ".join(
            f"{col} {'integer' if name in numbers else 'text'}" for col, name in zip(columns, header, strict=True)
        )
        + ")"
    )
    fileobj.seek(0)
    progress.stage("loading the file into PostgreSQL (COPY)")
    reader = CountingReader(fileobj, progress)
    cursor.copy_expert(
        f"COPY usage_staging ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8',"
        f" FORCE_NOT_NULL ({', '.join(key_columns)}))",
        reader,
        1 << 20,
    )
    return cursor.rowcount, reader.lines


def _shown(expr: str) -> str:
    """SQL twin of common.shown: a value quoted in a message, cut at SHOWN characters."""
    return f"CASE WHEN length({expr}) > {SHOWN} THEN left({expr}, {SHOWN}) || '…' ELSE {expr} END"


TOO_LONG = f"length(%s) > {MAX_CELL}"


def _as_int(expr: str, typed: bool) -> str:
    return expr if typed else f"NULLIF(btrim({expr}), '')::int"


def _number_problem(col: str, name: str, *, required: bool, typed: bool) -> str:
    """NULL for a whole number ≥ 0 that fits (or an allowed empty cell), else 'column: reason'."""
    empty = f"'{name}: required, but empty'" if required else "NULL"
    if typed:  # PostgreSQL parsed it already: only empty and negative remain
        return f"CASE WHEN {col} IS NULL THEN {empty} WHEN {col} < 0 THEN '{name}: ' || {col} || ' is negative; expected a number ≥ 0' END"
    v = f"COALESCE(btrim({col}), '')"
    return f"""CASE WHEN {v} ~ '^[0-9]{{1,9}}$' THEN NULL
        WHEN {v} = '' THEN {empty}
        WHEN {TOO_LONG % v} THEN '{name}: {too_long()}'
        WHEN {v} !~ '^-?[0-9]+$' THEN '{name}: ''' || {_shown(v)} || ''' is not a whole number'
        WHEN {v} ~ '^-' THEN '{name}: ' || {_shown(v)} || ' is negative; expected a number ≥ 0'
        WHEN {v}::numeric > {INT_MAX} THEN '{name}: ' || {_shown(v)} || ' is too large'
    END"""


def normal_key_sql(expr: str) -> str:
    """SQL twin of usage.normalize_feature_key."""
    return f"left(btrim(regexp_replace(lower({expr}), '[^a-z0-9]+', '_', 'g'), '_'), 80)"


def _lookups(cursor, c: dict[str, str], *, typed: bool) -> bool:
    """Builds the account, date and feature lookup tables in one pass; True when some row is bad."""
    account_t, feature_t = Account._meta.db_table, Feature._meta.db_table
    bad_numbers = (
        f"bool_or(({_number_problem(c['events'], 'events', required=True, typed=True)}) IS NOT NULL OR {c['active_users']} < 0)"
        if typed
        else "true"
    )
    cursor.execute(
        f"""CREATE TEMPORARY TABLE usage_values AS
            SELECT GROUPING({c["account_external_id"]}) = 0 AS is_account, {c["account_external_id"]} AS account,
                   {c["date"]} AS date, {c["feature"]} AS feature, {bad_numbers} AS bad_numbers
            FROM usage_staging
            GROUP BY GROUPING SETS (({c["account_external_id"]}), ({c["date"]}, {c["feature"]}))"""
    )
    cursor.execute(
        f"""CREATE TEMPORARY TABLE usage_accounts AS
            SELECT v.account AS text, btrim(v.account) AS trimmed, a.id
            FROM usage_values v LEFT JOIN {account_t} a ON a.external_id = btrim(v.account)
            WHERE v.is_account;
        CREATE TEMPORARY TABLE usage_dates AS
            SELECT d AS text, btrim(d) AS trimmed, CASE
                WHEN btrim(d) ~ '^[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' AND substr(btrim(d), 1, 4) <> '0000'
                THEN to_char(make_date(substr(btrim(d), 1, 4)::int, substr(btrim(d), 6, 2)::int, 1)
                             + (substr(btrim(d), 9, 2)::int - 1), 'YYYY-MM-DD') = btrim(d)
                ELSE false END AS ok
            FROM (SELECT DISTINCT date AS d FROM usage_values WHERE NOT is_account) dates;
        CREATE TEMPORARY TABLE usage_features AS
            SELECT t AS text, btrim(t) AS trimmed,
                   CASE WHEN {TOO_LONG % "t"} THEN '' ELSE {normal_key_sql("btrim(t)")} END AS normal, NULL::bigint AS feature_id
            FROM (SELECT DISTINCT feature AS t FROM usage_values WHERE NOT is_account) features"""
    )
    # A key is used as written when such a feature exists, else in its normal form; features first
    # seen in this file are created under their normal key (rolled back with everything else when
    # the file is refused).
    cursor.execute(
        f"""UPDATE usage_features u SET feature_id = f.id FROM {feature_t} f WHERE f.key = u.trimmed;
            UPDATE usage_features u SET feature_id = f.id FROM {feature_t} f
                WHERE u.feature_id IS NULL AND f.key = u.normal;
            INSERT INTO {feature_t} (key, name)
            SELECT DISTINCT normal, upper(left(normal, 1)) || substr(replace(normal, '_', ' '), 2)
            FROM usage_features WHERE feature_id IS NULL AND normal <> ''
            ON CONFLICT (key) DO NOTHING;
            UPDATE usage_features u SET feature_id = f.id FROM {feature_t} f
                WHERE u.feature_id IS NULL AND f.key = u.normal;
            ANALYZE usage_accounts; ANALYZE usage_dates; ANALYZE usage_features"""
    )
    cursor.execute(
        """SELECT EXISTS (SELECT FROM usage_accounts WHERE id IS NULL)
               OR EXISTS (SELECT FROM usage_dates WHERE NOT ok)
               OR EXISTS (SELECT FROM usage_features WHERE feature_id IS NULL)
               OR EXISTS (SELECT FROM usage_values WHERE NOT is_account AND bad_numbers)"""
    )
    return cursor.fetchone()[0]


def _check_rows(cursor, c: dict[str, str], result: ImportResult, line_of, *, typed: bool) -> None:
    """Each row's problems (every bad cell, not only the first) into usage_checked, and the first
    50 problems into `result` (each naming its line and column)."""
    account = f"""CASE
        WHEN ua.trimmed = '' THEN 'account_external_id: required, but empty'
        WHEN ua.id IS NULL AND {TOO_LONG % "ua.trimmed"} THEN 'account_external_id: {too_long()}'
        WHEN ua.id IS NULL THEN 'account_external_id: unknown account ''' || {_shown("ua.trimmed")} || ''''
    END"""
    day = f"""CASE
        WHEN ud.trimmed = '' THEN 'date: required, but empty'
        WHEN NOT ud.ok AND {TOO_LONG % "ud.trimmed"} THEN 'date: {too_long()}'
        WHEN NOT ud.ok THEN 'date: ''' || {_shown("ud.trimmed")} || ''' is not a date in YYYY-MM-DD form'
    END"""
    feature = f"""CASE
        WHEN uf.trimmed = '' THEN 'feature: required, but empty'
        WHEN uf.feature_id IS NULL AND {TOO_LONG % "uf.trimmed"} THEN 'feature: {too_long()}'
        WHEN uf.normal = '' THEN 'feature: ''' || {_shown("uf.trimmed")} || ''' is not a usable feature key (letters, digits, _ or -)'
    END"""
    events = _number_problem("s." + c["events"], "events", required=True, typed=typed)
    active_users = _number_problem("s." + c["active_users"], "active_users", required=False, typed=typed)
    problems = f"array_remove(ARRAY[{account}, {day}, {feature}, {events}, {active_users}]::text[], NULL)"
    # Line numbers: COPY stored the rows in file order, and the header is line 1.
    cursor.execute(
        f"""CREATE TEMPORARY TABLE usage_checked AS
            SELECT row_number() OVER (ORDER BY pos) + 1 AS line, problems, account_id, day, feature_id,
                   CASE WHEN problems = '{{}}' THEN {_as_int("events", typed)} END AS events,
                   CASE WHEN problems = '{{}}' THEN COALESCE({_as_int("active_users", typed)}, 0) END AS active_users
            FROM (SELECT s.ctid AS pos, {problems} AS problems, ua.id AS account_id,
                         CASE WHEN ud.ok THEN ud.trimmed::date END AS day, uf.feature_id,
                         s.{c["events"]} AS events, s.{c["active_users"]} AS active_users
                  FROM usage_staging s
                  JOIN usage_accounts ua ON ua.text = s.{c["account_external_id"]}
                  JOIN usage_dates ud ON ud.text = s.{c["date"]}
                  JOIN usage_features uf ON uf.text = s.{c["feature"]}) checked"""
    )
    cursor.execute(
        f"""SELECT line, problem, n, count(*) OVER () FROM usage_checked, unnest(problems) WITH ORDINALITY AS p(problem, n)
            ORDER BY line, n LIMIT {MAX_REPORTED_ERRORS}"""
    )
    found = cursor.fetchall()
    if not found:
        return
    cursor.execute("SELECT count(*) FROM usage_checked WHERE problems <> '{}'")
    bad_rows = cursor.fetchone()[0]
    lines = line_of(sorted({line for line, _, _, _ in found}))
    for line, problem_text, n, _ in found:
        column, reason = problem_text.split(": ", 1)
        result.add_error(lines[line], column, reason, new_row=n == 1)
    result.error_count += found[0][3] - len(found)
    result.error_rows = bad_rows


def _overlaps(cursor) -> bool:
    """Does some account of the file already have usage in the file's date range? One probe each."""
    cursor.execute(
        f"""SELECT EXISTS (
                SELECT FROM usage_accounts ua,
                     (SELECT min(trimmed)::date AS first, max(trimmed)::date AS last FROM usage_dates WHERE ok) span,
                     LATERAL (SELECT FROM {UsageDaily._meta.db_table} u
                              WHERE u.account_id = ua.id AND u.date BETWEEN span.first AND span.last LIMIT 1) hit
                WHERE ua.id IS NOT NULL)"""
    )
    return cursor.fetchone()[0]


def _write(
    cursor, source: str, order: str, valid: int, result: ImportResult, progress: Progress, *, accounts: str
) -> None:
    """Lands the rows of `source` (account_id, day, feature_id, events, active_users, ord) and
    marks their accounts dirty: `accounts` selects the ids of those rows' accounts from a small
    table (one statement; the rows themselves are not read a second time)."""
    _land(cursor, source, order, valid, result, progress)
    dirty_accounts_mark(sql=accounts, reason=Reason.USAGE)


def _land(cursor, source: str, order: str, valid: int, result: ImportResult, progress: Progress) -> None:
    usage_t = UsageDaily._meta.db_table
    columns = "account_id, date, feature_id, events, active_users"
    select = f"SELECT account_id, day, feature_id, events, active_users FROM ({source}) src"
    # A file may repeat an (account, date, feature): the last row wins, as a re-import would.
    last_wins = (
        f"SELECT DISTINCT ON (account_id, day, feature_id) account_id, day, feature_id, events, active_users"
        f" FROM ({source}) src ORDER BY account_id, day, feature_id, {order} DESC"
    )
    if not _overlaps(cursor):
        progress.stage(f"inserting {valid:,} rows")
        try:
            with transaction.atomic():
                cursor.execute(f"INSERT INTO {usage_t} ({columns}) {select}")
                result.created, result.updated = cursor.rowcount, valid - cursor.rowcount
                return
        except IntegrityError as exc:
            # A repeated key within the file (or a concurrent import of the same rows): upsert.
            if not isinstance(exc.__cause__, pg_errors.UniqueViolation):
                raise
    # Rows whose values did not change are left alone: no dead tuples for an identical re-import.
    upsert = f"""WITH upserted AS (
            INSERT INTO {usage_t} ({columns})
            {{select}}
            ON CONFLICT (account_id, date, feature_id)
            DO UPDATE SET events = EXCLUDED.events, active_users = EXCLUDED.active_users
            WHERE ({usage_t}.events, {usage_t}.active_users) IS DISTINCT FROM (EXCLUDED.events, EXCLUDED.active_users)
            RETURNING (xmax = 0) AS inserted)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted"""
    progress.stage(f"upserting {valid:,} rows")
    try:
        with transaction.atomic():
            cursor.execute(upsert.format(select=select))
    except ProgrammingError as exc:
        if not isinstance(exc.__cause__, pg_errors.CardinalityViolation):
            raise
        cursor.execute(upsert.format(select=last_wins))
        result.created, result.updated = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM ({last_wins}) rows")
        result.unchanged = cursor.fetchone()[0] - result.created - result.updated
        return
    result.created, result.updated = cursor.fetchone()
    result.unchanged = valid - result.created - result.updated


def import_usage_copy(
    fileobj, header: list[str], *, skip_invalid: bool, result: ImportResult, progress: Progress
) -> int:
    """Loads, checks and writes; returns the number of valid rows. Raises CopyRejected."""
    columns = [f"c{i}" for i in range(len(header))]
    c = {name: columns[header.index(name)] for name in NEEDED}
    keys = [c["account_external_id"], c["date"], c["feature"]]
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TABLE IF EXISTS {', '.join(f'pg_temp.{t}' for t in TEMP_TABLES)}; SET LOCAL work_mem = '{WORK_MEM}'"
        )
        # First with the numbers typed, so PostgreSQL parses them as it loads; a file with a cell
        # that is not a whole number (or too large) is loaded again as text and checked cell by cell.
        typed = True
        try:
            with transaction.atomic():
                total, newlines = _copy(cursor, fileobj, columns, header, keys, progress, typed=True)
        except (DatabaseError, psycopg2.Error):
            typed = False
            try:
                with transaction.atomic():
                    total, newlines = _copy(cursor, fileobj, columns, header, keys, progress, typed=False)
            except (DatabaseError, psycopg2.Error) as exc:
                raise CopyRejected(str(exc)) from None
        if not total:
            return 0

        progress.stage("checking accounts, dates and features")
        if not _lookups(cursor, c, typed=typed):
            source = f"""SELECT ua.id AS account_id, s.{c["date"]}::date AS day, uf.feature_id,
                                s.{c["events"]} AS events, COALESCE(s.{c["active_users"]}, 0) AS active_users, s.ctid AS ord
                         FROM usage_staging s
                         JOIN usage_accounts ua ON ua.text = s.{c["account_external_id"]}
                         JOIN usage_features uf ON uf.text = s.{c["feature"]}"""
            # A clean file: each of its accounts has rows in it, and each was resolved once.
            accounts = "SELECT id FROM usage_accounts WHERE id IS NOT NULL"
            _write(cursor, source, "ord", total, result, progress, accounts=accounts)
            return total

        def line_of(numbers: list[int]) -> dict[int, int]:
            """Row numbers (the header is 1) → the file line each row starts on."""
            if newlines in (total, total + 1):  # one line per row
                return {n: n for n in numbers}
            starts = record_start_lines(fileobj, {n - 1 for n in numbers})
            return {n: starts.get(n - 1, n) for n in numbers}

        progress.stage("checking rows")
        _check_rows(cursor, c, result, line_of, typed=typed)
        if result.error_count and not skip_invalid:
            return 0
        cursor.execute("SELECT count(*) FROM usage_checked WHERE problems = '{}'")
        valid = cursor.fetchone()[0]
        if valid:
            source = """SELECT account_id, day, feature_id, events, active_users, line AS ord
                        FROM usage_checked WHERE problems = '{}'"""
            accounts = "SELECT DISTINCT account_id FROM usage_checked WHERE problems = '{}'"
            _write(cursor, source, "ord", valid, result, progress, accounts=accounts)
    return valid
