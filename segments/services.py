"""Writes for segments: membership (with history) and touch models (TouchModelDay), recomputed for a date."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from accounts.models import Account
from core.bulk import bulk_insert
from core.db import ids_in
from segments.compiler import compile_rule
from segments.models import Segment, SegmentDay, SegmentMembership, TouchModelDay
from segments.selectors import memberships_on, segment_figures


def segment_members(segment: Segment, as_of: date) -> set[int]:
    """Ids of the accounts the segment's rule matches as of `as_of` (customers only: churned and
    not-yet-started accounts never match)."""
    return set(_members(segment, as_of).values_list("id", flat=True))


def _members(segment: Segment, as_of: date):
    return Account.objects.active_on(as_of).filter(compile_rule(segment.rule, as_of)).order_by().values("id")


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@transaction.atomic
def segments_recompute(*, as_of: date) -> dict:
    """Membership of every segment as of `as_of`, kept by diffing; then every account's touch model.

    Re-running a date first undoes that date's own changes, so the result is the same however
    often it runs. History only moves forward: recomputing a date older than the latest one
    recorded rewrites that day's touch models but leaves membership history alone.
    Set-based: each segment's rule runs inside the statements that close stays, open new ones
    and claim touch models (a few statements per segment, none per account; no member list
    travels to Python). The anti-joins are NOT IN over non-null ids: PostgreSQL hashes the
    subquery once, where a correlated NOT EXISTS would probe every open stay per member.
    """
    latest = SegmentMembership.objects.aggregate(entered=Max("entered_on"), left=Max("left_on"))
    backfill = any(d is not None and d > as_of for d in latest.values())
    if not backfill:
        SegmentMembership.objects.filter(entered_on=as_of).delete()
        SegmentMembership.objects.filter(left_on=as_of).update(left_on=None)
    TouchModelDay.objects.filter(day=as_of).delete()

    memberships, touch = SegmentMembership._meta.db_table, TouchModelDay._meta.db_table
    entered = left = 0
    segments = list(Segment.objects.order_by("-priority", "name"))
    for segment in segments:
        members = _members(segment, as_of)
        try:
            members_sql, members_params = members.query.sql_with_params() if segment.active else ("", ())
        except EmptyResultSet:  # a rule that can match nothing, e.g. {"any": []}
            members_sql = ""
        if not members_sql:  # no members: the open stays close
            if not backfill:
                left += SegmentMembership.objects.filter(segment=segment, left_on__isnull=True).update(left_on=as_of)
            continue
        if segment.touch_model:
            # Segments come highest priority first (ties by name): the first one to claim wins.
            _execute(
                f"""INSERT INTO {touch} (account_id, day, touch_model)
                    SELECT m.id, %s, %s FROM ({members_sql}) m
                    WHERE m.id NOT IN (SELECT account_id FROM {touch} WHERE day = %s)""",
                [as_of, segment.touch_model, *members_params, as_of],
            )
        if backfill:
            continue
        open_rows = SegmentMembership.objects.filter(segment=segment, left_on__isnull=True)
        left += open_rows.exclude(account_id__in=members).update(left_on=as_of)
        entered += _execute(
            f"""INSERT INTO {memberships} (segment_id, account_id, entered_on)
                SELECT %s, m.id, %s FROM ({members_sql}) m
                WHERE m.id NOT IN (SELECT account_id FROM {memberships} WHERE segment_id = %s AND left_on IS NULL)""",
            [segment.pk, as_of, *members_params, segment.pk],
        )
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
        memberships_on(day).filter(account_id__in=ids_in(account_ids))
        .values("segment_id").annotate(members=Count("id"), arr=Sum("account__arr")).order_by()
    )  # fmt: skip
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
