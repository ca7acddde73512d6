"""Reads over segments and their membership."""

from bisect import bisect_left
from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet

from accounts.models import Account
from segments.models import Segment, SegmentMembership


def memberships_on(day: date) -> QuerySet[SegmentMembership]:
    """Stays that include `day`: entered on or before it, not left by it."""
    return SegmentMembership.objects.filter(entered_on__lte=day).filter(Q(left_on__isnull=True) | Q(left_on__gt=day))


def segment_accounts(segment: Segment, day: date) -> QuerySet[Account]:
    return Account.objects.filter(pk__in=memberships_on(day).filter(segment=segment).values("account_id"))


def membership_over_time(day: date, *, segment: Segment | None = None, weeks: int = 52) -> dict:
    """Per segment, over the `weeks` weeks ending `day`: members at each week's end and how many
    stays entered and left during that week. Three grouped queries whatever the number of
    accounts: members at the first week end, then entries and exits per day after it, summed up.

    {"weeks": [week end dates], "segments": {segment id: {"members", "entered", "left"}}}
    """
    ends = [day - timedelta(weeks=k) for k in range(weeks, -1, -1)]
    start = ends[0]
    stays = SegmentMembership.objects.all() if segment is None else SegmentMembership.objects.filter(segment=segment)
    base = {r["segment_id"]: r["n"] for r in memberships_on(start).filter(pk__in=stays.values("pk")).values("segment_id").annotate(n=Count("id")).order_by()}
    series: dict[int, dict] = {}

    def of(segment_id: int) -> dict:
        return series.setdefault(segment_id, {"entered": [0] * len(ends), "left": [0] * len(ends)})

    for field, key in (("entered_on", "entered"), ("left_on", "left")):
        rows = (
            stays.filter(**{f"{field}__gt": start, f"{field}__lte": day})
            .values("segment_id", field)
            .annotate(n=Count("id"))
            .order_by()
        )
        for r in rows:
            # The week ending on ends[i] covers (ends[i-1], ends[i]].
            of(r["segment_id"])[key][bisect_left(ends, r[field])] += r["n"]
    for segment_id in base:
        of(segment_id)
    for segment_id, s in series.items():
        running, members = base.get(segment_id, 0), []
        for entered, left in zip(s["entered"], s["left"], strict=True):
            running += entered - left
            members.append(running)
        s["members"] = members
    return {"weeks": ends, "segments": series}
