"""Writes for segments: membership (with history) and touch models, recomputed for a date."""

from datetime import date

from django.db import connection, transaction
from django.db.models import Max

from accounts.models import Account
from core.bulk import bulk_insert
from health.models import HealthScore
from segments.compiler import compile_rule
from segments.models import Segment, SegmentDay, SegmentMembership
from segments.selectors import segment_figures


def segment_members(segment: Segment, as_of: date) -> set[int]:
    """Ids of the accounts the segment's rule matches as of `as_of` (churned accounts never do)."""
    return set(
        Account.objects.active_on(as_of).filter(compile_rule(segment.rule, as_of)).values_list("pk", flat=True)
    )


@transaction.atomic
def segments_recompute(*, as_of: date) -> dict:
    """Membership of every segment as of `as_of`, kept by diffing; then every account's touch model.

    Re-running a date first undoes that date's own changes, so the result is the same however
    often it runs. History only moves forward: recomputing a date older than the latest one
    recorded updates that day's touch models but leaves membership history alone.
    Queries: a few per segment, none per account.
    """
    latest = SegmentMembership.objects.aggregate(entered=Max("entered_on"), left=Max("left_on"))
    backfill = any(d is not None and d > as_of for d in latest.values())
    if not backfill:
        SegmentMembership.objects.filter(entered_on=as_of).delete()
        SegmentMembership.objects.filter(left_on=as_of).update(left_on=None)

    entered = left = 0
    touch: dict[int, str] = {}
    segments = list(Segment.objects.order_by("-priority", "name"))
    for segment in segments:
        members = segment_members(segment, as_of) if segment.active else set()
        if segment.touch_model:
            # Segments come highest priority first (ties by name): the first one to claim wins.
            for account_id in members:
                touch.setdefault(account_id, segment.touch_model)
        if backfill:
            continue
        open_rows = dict(
            SegmentMembership.objects.filter(segment=segment, left_on__isnull=True).values_list("account_id", "pk")
        )
        gone = [pk for account_id, pk in open_rows.items() if account_id not in members]
        new = members - open_rows.keys()
        for start in range(0, len(gone), 5000):
            SegmentMembership.objects.filter(pk__in=gone[start : start + 5000]).update(left_on=as_of)
        bulk_insert(SegmentMembership, ["segment_id", "account_id", "entered_on"], ((segment.pk, a, as_of) for a in sorted(new)))
        entered, left = entered + len(new), left + len(gone)

    by_model: dict[str, list[int]] = {}
    for account_id, model in touch.items():
        by_model.setdefault(model, []).append(account_id)
    day = HealthScore.objects.filter(as_of=as_of)
    day.exclude(touch_model="").update(touch_model="")
    for model, ids in by_model.items():
        if connection.vendor == "postgresql":
            # One statement per touch model, the ids as one array parameter.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {HealthScore._meta.db_table} SET touch_model = %s WHERE as_of = %s AND account_id = ANY(%s)",
                    [model, as_of, ids],
                )
            continue
        for start in range(0, len(ids), 5000):
            day.filter(account_id__in=ids[start : start + 5000]).update(touch_model=model)
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
