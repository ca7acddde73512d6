"""Writes for segments: membership (with history) and touch models (TouchModelDay), recomputed for a date."""

from datetime import date

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Max, QuerySet

from accounts.models import Account
from segments.compiler import compile_rule
from segments.models import Segment, SegmentDay, SegmentMembership, TouchModelDay
from segments.selectors import segment_figures


def segment_members(segment: Segment, as_of: date) -> set[int]:
    """Ids of the accounts the segment's rule matches as of `as_of` (customers only: churned and
    not-yet-started accounts never match)."""
    return set(_members(segment, as_of).values_list("id", flat=True))


def _members(segment: Segment, as_of: date):
    return Account.objects.active_on(as_of).filter(compile_rule(segment.rule, as_of)).order_by().values("id")


def _segments_lock() -> None:
    """Membership rows name their segment without a per-row foreign-key check (health.models
    .RESULTS_FK): the segments are locked FOR KEY SHARE instead, so none is deleted before the
    recompute commits. Their accounts are locked by the publish's health step, which runs first
    in the same transaction (health.services.results_references_lock)."""
    if connection.vendor == "postgresql":  # SQLite: one writer at a time, the database is the lock
        _execute(f"SELECT id FROM {Segment._meta.db_table} FOR KEY SHARE", [])


def _setting_local(name: str, value: str) -> str:
    """Sets a PostgreSQL planner setting for the rest of the transaction; returns the value it had
    (elsewhere nothing to set: returns `value`)."""
    if connection.vendor != "postgresql":
        return value
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
        return cursor.fetchone()[0]


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# The day's members of every segment, filled once per recompute: the touch models and the
# membership diff are then one statement each over all segments.
_MEMBERS_TABLE = "segments_day_members"
# The diff's hash tables (every open stay: one per member of every segment, 100,000s of rows) fit
# in memory instead of spilling to disk; for those statements only.
WORK_MEM = "64MB"


@transaction.atomic
def segments_recompute(*, as_of: date) -> dict:
    """Membership of every segment as of `as_of`, kept by diffing; then every account's touch model.

    Re-running a date first undoes that date's own changes, so the result is the same however
    often it runs. History only moves forward: recomputing a date older than the latest one
    recorded rewrites that day's touch models but leaves membership history alone.
    Set-based: each active segment's rule runs once, in the statement that copies its members
    into a temporary table (segment, its position highest priority first, account); then one
    statement claims every touch model (the first segment in that order wins), one closes the
    stays whose account is no longer a member, one opens the new ones. No member list travels
    to Python, no statement runs per account.
    """
    _segments_lock()
    latest = SegmentMembership.objects.aggregate(entered=Max("entered_on"), left=Max("left_on"))
    backfill = any(d is not None and d > as_of for d in latest.values())
    if not backfill:
        SegmentMembership.objects.filter(entered_on=as_of).delete()
        SegmentMembership.objects.filter(left_on=as_of).update(left_on=None)
    TouchModelDay.objects.filter(day=as_of).delete()

    memberships, touch, members = SegmentMembership._meta.db_table, TouchModelDay._meta.db_table, _MEMBERS_TABLE
    _execute(f"DROP TABLE IF EXISTS {members}", [])
    _execute(
        f"""CREATE TEMPORARY TABLE {members} (segment_id bigint NOT NULL, position integer NOT NULL,
                touch_model varchar(16) NOT NULL, account_id bigint NOT NULL)""",
        [],
    )
    segments = list(Segment.objects.order_by("-priority", "name"))
    for position, segment in enumerate(segments):
        try:
            members_sql, members_params = (
                _members(segment, as_of).query.sql_with_params() if segment.active else ("", ())
            )
        except EmptyResultSet:  # a rule that can match nothing, e.g. {"any": []}
            members_sql = ""
        if members_sql:  # no members: nothing to copy, its open stays close below
            _execute(
                f"INSERT INTO {members} SELECT %s, %s, %s, m.id FROM ({members_sql}) m",
                [segment.pk, position, segment.touch_model, *members_params],
            )
    _execute(f"ANALYZE {members}", [])  # the statements below join it: let the planner know its size
    # Segments come highest priority first (ties by name): the first one to claim wins.
    _execute(
        f"""INSERT INTO {touch} (account_id, day, touch_model)
            SELECT m.account_id, %s, m.touch_model FROM {members} m
            JOIN (SELECT account_id, MIN(position) AS position FROM {members} WHERE touch_model <> ''
                  GROUP BY account_id) claim ON claim.account_id = m.account_id AND claim.position = m.position""",
        [as_of],
    )
    entered = left = 0
    if not backfill:
        # Hash joins whatever the estimates (a fresh or just-bulk-written membership table looks
        # empty to the planner, and a nested loop over it would cost members × stays); and no
        # statement reads the table it writes: the members that already have an open stay are
        # taken out of the temporary table first, the rest are inserted from it alone.
        previous = _setting_local("enable_nestloop", "off")
        previous_mem = _setting_local("work_mem", WORK_MEM)
        left = _execute(
            f"""UPDATE {memberships} SET left_on = %s WHERE left_on IS NULL AND NOT EXISTS (
                    SELECT 1 FROM {members} m
                    WHERE m.segment_id = {memberships}.segment_id AND m.account_id = {memberships}.account_id)""",
            [as_of],
        )
        _execute(
            f"""DELETE FROM {members} WHERE EXISTS (
                    SELECT 1 FROM {memberships} o WHERE o.left_on IS NULL
                    AND o.segment_id = {members}.segment_id AND o.account_id = {members}.account_id)""",
            [],
        )
        _setting_local("enable_nestloop", previous)
        _setting_local("work_mem", previous_mem)
        entered = _execute(
            f"INSERT INTO {memberships} (segment_id, account_id, entered_on) SELECT segment_id, account_id, %s FROM {members}",
            [as_of],
        )
    _execute(f"DROP TABLE {members}", [])
    return {"segments": sum(1 for s in segments if s.active), "entered": entered, "left": left}


@transaction.atomic
def segment_days_write(*, day: date) -> int:
    """(Re)writes SegmentDay for `day`: what segments.selectors.segment_figures counts (each segment's
    members that day and their ARR; zeros without members, so a day with rows is complete)."""
    figures = segment_figures(day)
    SegmentDay.objects.filter(day=day).delete()
    rows = [SegmentDay(segment_id=pk, day=day, members=f.members, arr=f.arr) for pk, f in figures.items()]
    SegmentDay.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


@transaction.atomic
def segments_recompute_accounts(*, as_of: date, accounts: QuerySet) -> dict:
    """segments_recompute restricted to `accounts` (a queryset of one column of account ids: the
    incremental run's): the same statements with `AND account_id IN (accounts)`, so each of those
    accounts ends with exactly the memberships, history and touch model a full recompute gives it,
    and no other account's rows are touched. `as_of` is today (the incremental run's day): with
    history recorded after it (a backfill), only the touch models are rewritten, as there.
    """
    _segments_lock()
    latest = SegmentMembership.objects.aggregate(entered=Max("entered_on"), left=Max("left_on"))
    backfill = any(d is not None and d > as_of for d in latest.values())
    mine = SegmentMembership.objects.filter(account_id__in=accounts)
    if not backfill:
        mine.filter(entered_on=as_of).delete()
        mine.filter(left_on=as_of).update(left_on=None)
    TouchModelDay.objects.filter(day=as_of, account_id__in=accounts).delete()

    memberships, touch = SegmentMembership._meta.db_table, TouchModelDay._meta.db_table
    # The anti-joins look only at these accounts' rows, not at every account's.
    ids_sql, ids_params = accounts.query.sql_with_params()
    entered = left = 0
    segments = list(Segment.objects.order_by("-priority", "name"))
    for segment in segments:
        members = _members(segment, as_of).filter(pk__in=accounts)
        try:
            members_sql, members_params = members.query.sql_with_params() if segment.active else ("", ())
        except EmptyResultSet:
            members_sql = ""
        if not members_sql:
            if not backfill:
                left += mine.filter(segment=segment, left_on__isnull=True).update(left_on=as_of)
            continue
        if segment.touch_model:
            _execute(
                f"""INSERT INTO {touch} (account_id, day, touch_model)
                    SELECT m.id, %s, %s FROM ({members_sql}) m
                    WHERE m.id NOT IN (SELECT account_id FROM {touch} WHERE day = %s AND account_id IN ({ids_sql}))""",
                [as_of, segment.touch_model, *members_params, as_of, *ids_params],
            )
        if backfill:
            continue
        left += mine.filter(segment=segment, left_on__isnull=True).exclude(account_id__in=members).update(left_on=as_of)
        entered += _execute(
            f"""INSERT INTO {memberships} (segment_id, account_id, entered_on)
                SELECT %s, m.id, %s FROM ({members_sql}) m
                WHERE m.id NOT IN (SELECT account_id FROM {memberships}
                                   WHERE segment_id = %s AND left_on IS NULL AND account_id IN ({ids_sql}))""",
            [segment.pk, as_of, *members_params, segment.pk, *ids_params],
        )
    return {"segments": sum(1 for s in segments if s.active), "entered": entered, "left": left}
