"""Writes for segments: membership (with history) and touch models (TouchModelDay), recomputed for a date."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from accounts.models import Account
from core.bulk import bulk_insert
from core.db import IdRange, id_range_q, ids_in, in_id_range, key_share_every_row, settings_local
from segments.compiler import compile_rule
from segments.models import Segment, SegmentDay, SegmentMembership, TouchModelDay
from segments.selectors import memberships_on, segment_figures


def segment_members(segment: Segment, as_of: date) -> set[int]:
    """Ids of the accounts the segment's rule matches as of `as_of` (customers only: churned and
    not-yet-started accounts never match)."""
    return set(_members(segment, as_of).values_list("id", flat=True))


def _members(segment: Segment, as_of: date, id_range: IdRange | None = None):
    accounts = Account.objects.active_on(as_of).filter(id_range_q("pk", id_range))
    return accounts.filter(compile_rule(segment.rule, as_of, id_range=id_range)).order_by().values("id")


def _segments_lock() -> None:
    """Membership rows name their segment without a per-row foreign-key check (health.models
    .RESULTS_FK): the segments are locked FOR KEY SHARE instead, so none is deleted before the
    recompute commits. Their accounts are locked by the publish's health step, which runs first
    in the same transaction (health.services.results_references_lock)."""
    if connection.vendor == "postgresql":  # SQLite: one writer at a time, the database is the lock
        key_share_every_row(Segment._meta.db_table)


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# The day's members of every segment, filled once per recompute: the touch models and the
# membership diff are then one statement each over all segments.
_MEMBERS_TABLE = "segments_day_members"
_TABLES = (SegmentMembership._meta.db_table, TouchModelDay._meta.db_table)
# The diff's hash tables (every open stay: one per member of every segment, 100,000s of rows) fit
# in memory instead of spilling to disk; for those statements only.
WORK_MEM = "64MB"
# Rules whose members one INSERT … UNION ALL copies (SQLite allows 500 parts in a compound SELECT).
RULES_PER_STATEMENT = 50


@dataclass
class SegmentsDay:
    """A day's re-segmenting under way (segments_day_begin … segments_range_recompute … segments_day_end)."""

    as_of: date
    segments: list[Segment]
    backfill: bool  # history recorded after `as_of`: only the touch models are rewritten
    entered: int = 0
    left: int = 0


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

    The recompute's publish does the same in steps (segments_day_begin, then
    segments_range_recompute for each chunk of accounts as its results are written, then
    segments_day_end), inside its own transaction: every rule is about one account, so a range
    of accounts is segmented exactly as the whole would be.
    """
    day = segments_day_begin(as_of=as_of)
    segments_range_recompute(day, id_range=None)
    return segments_day_end(day)


def segments_day_begin(*, as_of: date) -> SegmentsDay:
    """Inside the caller's transaction: locks the segments, undoes `as_of`'s own membership changes
    (not on a backfill) and its touch models, and creates the temporary members table."""
    _segments_lock()
    latest = SegmentMembership.objects.aggregate(entered=Max("entered_on"), left=Max("left_on"))
    backfill = any(d is not None and d > as_of for d in latest.values())
    if not backfill:
        SegmentMembership.objects.filter(entered_on=as_of).delete()
        SegmentMembership.objects.filter(left_on=as_of).update(left_on=None)
    TouchModelDay.objects.filter(day=as_of).delete()
    _execute(f"DROP TABLE IF EXISTS {_MEMBERS_TABLE}", [])
    _execute(
        f"""CREATE TEMPORARY TABLE {_MEMBERS_TABLE} (segment_id bigint NOT NULL, position integer NOT NULL,
                touch_model varchar(16) NOT NULL, account_id bigint NOT NULL)""",
        [],
    )
    return SegmentsDay(as_of=as_of, segments=list(Segment.objects.order_by("-priority", "name")), backfill=backfill)


def segments_range_recompute(day: SegmentsDay, *, id_range: IdRange | None) -> None:
    """Segments the accounts with ids in `id_range` ((first, last), either None: no bound; None:
    every account) as of the day: their members of every segment, touch models and membership
    diff. Accounts outside the range are not read or written."""
    as_of, memberships, touch, members = day.as_of, *_TABLES, _MEMBERS_TABLE
    in_range, range_params = in_id_range(f"{memberships}.account_id", id_range)
    selects: list[tuple[str, list]] = []  # every rule's members, copied by a statement per batch
    for position, segment in enumerate(day.segments):
        try:
            members_sql, members_params = (
                _members(segment, as_of, id_range).query.sql_with_params() if segment.active else ("", ())
            )
        except EmptyResultSet:  # a rule that can match nothing, e.g. {"any": []}
            members_sql = ""
        if members_sql:  # no members: nothing to copy, its open stays close below
            selects.append(
                (
                    f"SELECT %s, %s, %s, m.id FROM ({members_sql}) m",
                    [segment.pk, position, segment.touch_model, *members_params],
                )
            )
    for start in range(0, len(selects), RULES_PER_STATEMENT):
        batch = selects[start : start + RULES_PER_STATEMENT]
        _execute(
            f"INSERT INTO {members} {' UNION ALL '.join(sql for sql, _ in batch)}",
            [p for _, params in batch for p in params],
        )
    if id_range is None:
        _execute(f"ANALYZE {members}", [])  # the statements below join it: let the planner know its size
    # Segments come highest priority first (ties by name): the first one to claim wins.
    _execute(
        f"""INSERT INTO {touch} (account_id, day, touch_model)
            SELECT m.account_id, %s, m.touch_model FROM {members} m
            JOIN (SELECT account_id, MIN(position) AS position FROM {members} WHERE touch_model <> ''
                  GROUP BY account_id) claim ON claim.account_id = m.account_id AND claim.position = m.position
            ORDER BY m.account_id""",
        [as_of],
    )
    if not day.backfill:
        # Hash joins whatever the estimates (a fresh or just-bulk-written membership table looks
        # empty to the planner, and a nested loop over it would cost members × stays); and no
        # statement reads the table it writes: the members that already have an open stay are
        # taken out of the temporary table first, the rest are inserted from it alone.
        with settings_local(enable_nestloop="off", work_mem=WORK_MEM):
            day.left += _execute(
                f"""UPDATE {memberships} SET left_on = %s WHERE left_on IS NULL{in_range} AND NOT EXISTS (
                        SELECT 1 FROM {members} m
                        WHERE m.segment_id = {memberships}.segment_id AND m.account_id = {memberships}.account_id)""",
                [as_of, *range_params],
            )
            open_in_range, open_params = in_id_range("o.account_id", id_range)
            _execute(
                f"""DELETE FROM {members} WHERE EXISTS (
                        SELECT 1 FROM {memberships} o WHERE o.left_on IS NULL{open_in_range}
                        AND o.segment_id = {members}.segment_id AND o.account_id = {members}.account_id)""",
                open_params,
            )
        day.entered += _execute(
            f"""INSERT INTO {memberships} (segment_id, account_id, entered_on)
                SELECT segment_id, account_id, %s FROM {members} ORDER BY account_id, segment_id""",
            [as_of],
        )
    # Emptied for the next range. On PostgreSQL TRUNCATE (allowed in a transaction), so no range's
    # statements read past the dead rows of the ranges before it.
    _execute(f"{'TRUNCATE' if connection.vendor == 'postgresql' else 'DELETE FROM'} {members}", [])


def segments_day_end(day: SegmentsDay) -> dict:
    """Drops the temporary members table; {"segments": active segments, "entered": n, "left": n}."""
    _execute(f"DROP TABLE {_MEMBERS_TABLE}", [])
    return {"segments": sum(1 for s in day.segments if s.active), "entered": day.entered, "left": day.left}


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
def segments_recompute_accounts(*, as_of: date, account_ids: list[int]) -> dict:
    """segments_recompute restricted to `account_ids` (the incremental run's), so each of those
    accounts ends with exactly the memberships, history and touch model a full recompute gives
    it, and no other account's rows are touched. Each rule is compiled with its subqueries
    restricted to those ids (index probes, not a pass over the day's results) and its members
    are read once; the diff against their open stays and the touch-model claims (highest
    priority first) are made on those few rows, the new rows written with one COPY each.
    `as_of` is today (the incremental run's day): with history recorded after it (a backfill),
    only the touch models are rewritten, as there.
    """
    ids = sorted(set(account_ids))
    segments = list(Segment.objects.order_by("-priority", "name"))
    active = sum(1 for s in segments if s.active)
    if not ids:
        return {"segments": active, "entered": 0, "left": 0}
    _segments_lock()
    latest = SegmentMembership.objects.aggregate(entered=Max("entered_on"), left=Max("left_on"))
    backfill = any(d is not None and d > as_of for d in latest.values())
    mine = SegmentMembership.objects.filter(account_id__in=ids_in(ids))
    if not backfill:
        mine.filter(entered_on=as_of).delete()
        mine.filter(left_on=as_of).update(left_on=None)
    TouchModelDay.objects.filter(day=as_of, account_id__in=ids_in(ids)).delete()

    left = 0
    claimed: set[int] = set()  # accounts whose touch model of the day a segment has claimed
    touch_rows: list[tuple] = []
    open_stays: dict[int, set[int]] = {}
    if not backfill:
        for segment_id, account_id in mine.filter(left_on__isnull=True).values_list("segment_id", "account_id"):
            open_stays.setdefault(segment_id, set()).add(account_id)
    new_stays: list[tuple] = []
    customers = Account.objects.active_on(as_of).filter(pk__in=ids_in(ids))
    for segment in segments:
        members: set[int] = set()
        if segment.active:
            rule = compile_rule(segment.rule, as_of, accounts=ids)
            members = set(customers.filter(rule).values_list("id", flat=True))
        if segment.touch_model:
            mine_now = sorted(members - claimed)
            claimed.update(mine_now)
            touch_rows.extend((pk, as_of, segment.touch_model) for pk in mine_now)
        if backfill:
            continue
        stays = open_stays.get(segment.pk, set())
        gone = stays - members
        if gone:
            gone_rows = mine.filter(segment=segment, left_on__isnull=True, account_id__in=ids_in(sorted(gone)))
            left += gone_rows.update(left_on=as_of)
        new_stays.extend((segment.pk, pk, as_of) for pk in sorted(members - stays))
    bulk_insert(TouchModelDay, ["account_id", "day", "touch_model"], touch_rows)
    bulk_insert(SegmentMembership, ["segment_id", "account_id", "entered_on"], new_stays)
    return {"segments": active, "entered": len(new_stays), "left": left}


def segment_parts(*, day: date, account_ids: list[int]) -> dict[int, tuple[int, Decimal]]:
    """{segment id: (members, ARR)} of `account_ids`' stays including `day`: their share of the
    day's SegmentDay (one indexed query). The incremental run takes it before and after it
    re-segments them, and segment_days_adjust applies the difference."""
    rows = (
        memberships_on(day)
        .filter(account_id__in=ids_in(account_ids))
        .values("segment_id")
        .annotate(members=Count("id"), arr=Sum("account__arr"))
        .order_by()
    )
    return {r["segment_id"]: (r["members"], r["arr"] or Decimal(0)) for r in rows}


@transaction.atomic
def segment_days_adjust(*, day: date, before: dict, after: dict) -> bool:
    """Brings `day`'s SegmentDay from `before` to `after` (segment_parts of the same accounts,
    whose ARR did not change in between): each segment's row plus the difference, which is what
    segment_days_write would count. False (nothing written) when the day's rows are not one per
    segment (a segment added since, say): the caller rewrites the day instead."""
    rows = {r.segment_id: r for r in SegmentDay.objects.select_for_update().filter(day=day)}
    if set(rows) != set(Segment.objects.values_list("pk", flat=True)):
        return False
    for pk, row in rows.items():
        was, now = before.get(pk, (0, Decimal(0))), after.get(pk, (0, Decimal(0)))
        if was != now:
            row.members += now[0] - was[0]
            row.arr += now[1] - was[1]
            row.save(update_fields=["members", "arr"])
    return True
