"""The PostgreSQL fast path of import_usage: the raw CSV goes into a staging table with COPY, and
every check and the upsert run as set-based SQL — no Python per row.

Dates and features repeat across millions of rows, so each distinct value is checked once (small
lookup tables); rows are then checked by joins and one regular expression per number. Line numbers
come from a sequence COPY fills in file order (line = n + 1 after the header). A file COPY can't
read as CSV (a blank line, a row with more cells than the header, a broken quote, bad bytes) is
left to the streaming path, which names the line.
"""

import psycopg2
from django.db import DatabaseError, ProgrammingError, connection, transaction
from psycopg2 import errors as pg_errors

from accounts.imports.common import MAX_REPORTED_ERRORS, CountingReader, ImportResult, Progress
from accounts.models import Account, Feature, UsageDaily

INT_MAX = 2_147_483_647
NEEDED = ("account_external_id", "date", "feature", "events", "active_users")


class CopyRejected(Exception):
    """COPY could not read the file as CSV: use the streaming path instead."""


def _text(col: str) -> str:
    return f"COALESCE(btrim({col}), '')"


def _copy(cursor, fileobj, columns: list[str], header: list[str], progress: Progress, *, typed: bool) -> None:
    numbers = {"events", "active_users"} if typed else set()
    cursor.execute(
        "DROP TABLE IF EXISTS pg_temp.usage_staging; DROP SEQUENCE IF EXISTS pg_temp.usage_line;"
        "CREATE TEMPORARY SEQUENCE usage_line START 2;"
        "CREATE TEMPORARY TABLE usage_staging (line bigint DEFAULT nextval('usage_line'), "
        + ", ".join(f"{col} {'integer' if name in numbers else 'text'}" for col, name in zip(columns, header, strict=True))
        + ")"
    )
    fileobj.seek(0)
    progress.stage("loading the file into PostgreSQL (COPY)")
    cursor.copy_expert(
        f"COPY usage_staging ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')",
        CountingReader(fileobj, progress),
        1 << 20,
    )


def _as_int(alias: str, typed: bool) -> str:
    return alias if typed else f"NULLIF(btrim({alias}), '')::int"


def _number_problem(col: str, name: str, *, required: bool, typed: bool) -> str:
    """NULL for a whole number ≥ 0 that fits (or an allowed empty cell), else 'column: reason'."""
    if typed:  # PostgreSQL parsed it already: only empty and negative remain
        empty = f"'{name}: required, but empty'" if required else "NULL"
        return f"CASE WHEN {col} IS NULL THEN {empty} WHEN {col} < 0 THEN '{name}: ' || {col} || ' is negative; expected a number ≥ 0' END"
    v = _text(col)
    empty = f"'{name}: required, but empty'" if required else "NULL"
    return f"""CASE WHEN {v} ~ '^[0-9]{{1,9}}$' THEN NULL
        WHEN {v} = '' THEN {empty}
        WHEN {v} !~ '^-?[0-9]+$' THEN '{name}: ''' || {v} || ''' is not a whole number'
        WHEN {v} ~ '^-' THEN '{name}: ' || {v} || ' is negative; expected a number ≥ 0'
        WHEN {v}::numeric > {INT_MAX} THEN '{name}: ' || {v} || ' is too large'
    END"""


def normal_key_sql(expr: str) -> str:
    """SQL twin of usage.normalize_feature_key."""
    return f"left(btrim(regexp_replace(lower({expr}), '[^a-z0-9]+', '_', 'g'), '_'), 80)"


def import_usage_copy(fileobj, header: list[str], *, skip_invalid: bool, result: ImportResult, progress: Progress) -> int:
    """Loads, checks and upserts; returns the number of valid rows. Raises CopyRejected."""
    columns = [f"c{i}" for i in range(len(header))]
    c = {name: f"s.{columns[header.index(name)]}" for name in NEEDED}
    account_t, feature_t, usage_t = Account._meta.db_table, Feature._meta.db_table, UsageDaily._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS pg_temp.usage_staging, pg_temp.usage_dates, pg_temp.usage_features, pg_temp.usage_checked;"
            "DROP SEQUENCE IF EXISTS pg_temp.usage_line;"
        )
        # First try with the numbers typed, so PostgreSQL parses them as it loads; a file with a
        # cell that is not a whole number is loaded again as text and checked cell by cell.
        typed = True
        try:
            with transaction.atomic():
                _copy(cursor, fileobj, columns, header, progress, typed=True)
        except (DatabaseError, psycopg2.Error):
            typed = False
            try:
                with transaction.atomic():
                    _copy(cursor, fileobj, columns, header, progress, typed=False)
            except (DatabaseError, psycopg2.Error) as exc:
                raise CopyRejected(str(exc)) from None
        cursor.execute("ANALYZE usage_staging")

        progress.stage("checking dates and features")
        day = _text(c["date"])
        cursor.execute(
            f"""CREATE TEMPORARY TABLE usage_dates AS
                SELECT d AS text, CASE
                    WHEN d ~ '^[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' AND substr(d, 1, 4) <> '0000'
                    THEN to_char(make_date(substr(d, 1, 4)::int, substr(d, 6, 2)::int, 1)
                                 + (substr(d, 9, 2)::int - 1), 'YYYY-MM-DD') = d
                    ELSE false END AS ok
                FROM (SELECT DISTINCT {day} AS d FROM usage_staging s) dates"""
        )
        cursor.execute(
            f"""CREATE TEMPORARY TABLE usage_features AS
                SELECT t AS text, {normal_key_sql('t')} AS normal, NULL::bigint AS feature_id
                FROM (SELECT DISTINCT {_text(c['feature'])} AS t FROM usage_staging s) features"""
        )
        # Features first seen in this file are created under their normal key (rolled back with
        # everything else when the file is refused).
        cursor.execute(
            f"""UPDATE usage_features u SET feature_id = f.id FROM {feature_t} f WHERE f.key = u.text;
                UPDATE usage_features u SET feature_id = f.id FROM {feature_t} f
                    WHERE u.feature_id IS NULL AND f.key = u.normal;
                INSERT INTO {feature_t} (key, name)
                SELECT DISTINCT normal, upper(left(normal, 1)) || substr(replace(normal, '_', ' '), 2)
                FROM usage_features WHERE feature_id IS NULL AND normal <> ''
                ON CONFLICT (key) DO NOTHING;
                UPDATE usage_features u SET feature_id = f.id FROM {feature_t} f
                    WHERE u.feature_id IS NULL AND f.key = u.normal"""
        )
        account = _text(c["account_external_id"])
        problem = f"""CASE
            WHEN {account} = '' THEN 'account_external_id: required, but empty'
            WHEN a.id IS NULL THEN 'account_external_id: unknown account ''' || {account} || ''''
            WHEN {day} = '' THEN 'date: required, but empty'
            WHEN NOT ud.ok THEN 'date: ''' || {day} || ''' is not a date in YYYY-MM-DD form'
            WHEN uf.text = '' THEN 'feature: required, but empty'
            WHEN uf.normal = '' THEN 'feature: ''' || uf.text || ''' is not a usable feature key (letters, digits, _ or -)'
            ELSE COALESCE({_number_problem(c['events'], 'events', required=True, typed=typed)},
                          {_number_problem(c['active_users'], 'active_users', required=False, typed=typed)})
        END"""
        progress.stage("checking rows")
        # Each row is checked once; the error report and the upsert both read the result.
        cursor.execute(
            f"""CREATE TEMPORARY TABLE usage_checked AS
                SELECT line, problem, account_id, day, feature_id,
                       CASE WHEN problem IS NULL THEN {_as_int('events', typed)} END AS events,
                       CASE WHEN problem IS NULL THEN COALESCE({_as_int('active_users', typed)}, 0) END AS active_users
                FROM (SELECT s.line, {problem} AS problem, a.id AS account_id,
                             CASE WHEN ud.ok THEN ud.text END AS day, uf.feature_id,
                             {c['events']} AS events, {c['active_users']} AS active_users
                      FROM usage_staging s
                      LEFT JOIN {account_t} a ON a.external_id = {account}
                      JOIN usage_dates ud ON ud.text = {day}
                      JOIN usage_features uf ON uf.text = {_text(c['feature'])}) checked"""
        )
        cursor.execute(
            f"""SELECT line, problem, count(*) OVER () FROM usage_checked
                WHERE problem IS NOT NULL ORDER BY line LIMIT {MAX_REPORTED_ERRORS}"""
        )
        found = cursor.fetchall()
        for line, problem_text, _ in found:
            column, reason = problem_text.split(": ", 1)
            result.add_error(line, column, reason, new_row=True)
        if found:
            rest = found[0][2] - len(found)
            result.error_count += rest
            result.error_rows += rest
        if result.error_count and not skip_invalid:
            return 0
        cursor.execute("SELECT count(*) FROM usage_checked WHERE problem IS NULL")
        valid = cursor.fetchone()[0]
        if not valid:
            return 0

        select = """SELECT account_id, day::date, feature_id, events, active_users
                    FROM usage_checked WHERE problem IS NULL"""
        # Rows whose values did not change are left alone: no dead tuples for an identical re-import.
        upsert = f"""WITH upserted AS (
                INSERT INTO {usage_t} (account_id, date, feature_id, events, active_users)
                {{select}}
                ON CONFLICT (account_id, date, feature_id)
                DO UPDATE SET events = EXCLUDED.events, active_users = EXCLUDED.active_users
                WHERE ({usage_t}.events, {usage_t}.active_users) IS DISTINCT FROM (EXCLUDED.events, EXCLUDED.active_users)
                RETURNING (xmax = 0) AS inserted)
            SELECT count(*) FILTER (WHERE inserted) FROM upserted"""
        progress.stage(f"upserting {valid:,} rows")
        try:
            with transaction.atomic():
                cursor.execute(upsert.format(select=select))
        except ProgrammingError as exc:
            if not isinstance(exc.__cause__, pg_errors.CardinalityViolation):
                raise
            # The file repeats an (account, date, feature): the last row wins, as a re-import would.
            last_wins = (
                "SELECT DISTINCT ON (account_id, day, feature_id) account_id, day::date, feature_id, events, "
                "active_users FROM usage_checked WHERE problem IS NULL ORDER BY account_id, day, feature_id, line DESC"
            )
            cursor.execute(upsert.format(select=last_wins))
            result.created = cursor.fetchone()[0]
            cursor.execute(f"SELECT count(*) FROM ({last_wins}) rows")
            result.updated = cursor.fetchone()[0] - result.created
            return valid
        result.created = cursor.fetchone()[0]
        result.updated = valid - result.created
    return valid
