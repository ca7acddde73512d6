"""Reads over segments and their membership."""

from bisect import bisect_left
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account, Tier, UseCase, Vertical
from health.models import HealthScore
from health.selectors import results_day
from journeys.models import Stage
from people.models import User
from segments.compiler import compile_rule
from segments.models import Segment, SegmentDay, SegmentMembership, TouchModelDay
from segments.rules import BANDS, FIELDS, OPS_BY_KIND, PERSONAS, VALUE_LABELS, validate_rule


def memberships_on(day: date) -> QuerySet[SegmentMembership]:
    """Stays that include `day`: entered on or before it, not left by it."""
    return SegmentMembership.objects.filter(entered_on__lte=day).filter(Q(left_on__isnull=True) | Q(left_on__gt=day))


class SegmentMoves(NamedTuple):
    """One segment between two days: accounts that entered and left it, and its members on the later day."""

    name: str
    slug: str
    entered: int
    left: int
    members: int


def segment_moves(day: date, previous: date | None) -> list[SegmentMoves]:
    """Per segment (active ones, and any other with a move), who entered and who left between
    `previous` and `day` (a stay that began after `previous` and is open on `day`; one that was
    open on `previous` and ended by `day`), from the membership history: one grouped query.
    Without a `previous` day, nobody entered or left: only the members are counted."""
    open_on_day = Q(memberships__entered_on__lte=day) & (
        Q(memberships__left_on__isnull=True) | Q(memberships__left_on__gt=day)
    )
    if previous is None:
        entered = left = Value(0)
    else:
        entered = Count("memberships", filter=open_on_day & Q(memberships__entered_on__gt=previous))
        left = Count(
            "memberships",
            filter=Q(
                memberships__entered_on__lte=previous, memberships__left_on__gt=previous, memberships__left_on__lte=day
            ),
        )
    rows = (
        Segment.objects.annotate(entered=entered, left=left, members=Count("memberships", filter=open_on_day))
        .filter(Q(active=True) | Q(entered__gt=0) | Q(left__gt=0))
        .order_by("name")
        .values_list("name", "slug", "entered", "left", "members")
    )
    return [SegmentMoves(*row) for row in rows]


class SegmentFigures(NamedTuple):
    """A segment's members on a day (stays including it) and their ARR."""

    members: int
    arr: Decimal


def segment_figures(day: date) -> dict[int, SegmentFigures]:
    """{segment id: SegmentFigures} on `day`, every segment included (zeros without members),
    counted from the memberships: one grouped query, plus one for the segment ids. What the
    SegmentDay rollup stores; pages read the rollup (segment_stats), not this."""
    counted = {
        r["segment_id"]: SegmentFigures(r["members"], r["arr"] or Decimal(0))
        for r in memberships_on(day)
        .values("segment_id")
        .annotate(members=Count("id"), arr=Sum("account__arr"))
        .order_by()
    }
    return {pk: counted.get(pk, SegmentFigures(0, Decimal(0))) for pk in Segment.objects.values_list("pk", flat=True)}


def segment_stats(day: date) -> dict[int, dict]:
    """{segment id: {"members", "arr"}} on `day` from the day's SegmentDay rows (written with the
    results, one small query); {} for a day without them (see segment_days_rolled_up)."""
    stored = SegmentDay.objects.filter(day=day).values_list("segment_id", "members", "arr")
    return {pk: {"members": members, "arr": arr} for pk, members, arr in stored}


def segment_days_rolled_up(day: date) -> bool:
    """False when `day` has results and segments but no SegmentDay rows: only possible when
    something bypassed the pipeline (publish writes them with the results). Up to three queries;
    callers ask only when they found no rows."""
    if SegmentDay.objects.filter(day=day).exists() or not Segment.objects.exists():
        return True
    return not HealthScore.objects.filter(as_of=day).exists()


def segment_day_figures(segment: Segment, day: date) -> dict | None:
    """{"members", "arr"} of one segment on `day` from its SegmentDay row, or None without one."""
    return SegmentDay.objects.filter(segment=segment, day=day).values("members", "arr").first()


def segment_accounts(segment: Segment, day: date) -> QuerySet[Account]:
    return Account.objects.filter(pk__in=memberships_on(day).filter(segment=segment).values("account_id"))


def rule_builder_options() -> dict:
    """What the admin's rule builder offers: every field with its kind and ops, and the real
    values a field can take (names of verticals, use cases, tiers, journey stages; owners' emails;
    the fixed personas and bands). Five queries, whatever the number of accounts."""
    owners = (
        User.objects.filter(owned_accounts__isnull=False)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
        .order_by("email")
    )
    use_cases = list(UseCase.objects.order_by("name").values_list("name", flat=True))
    values = {
        "vertical": list(Vertical.objects.order_by("name").values_list("name", flat=True)),
        "use_case": use_cases,
        "primary_use_case": use_cases,
        "tier": list(Tier.objects.order_by("-min_arr").values_list("name", flat=True)),
        "owner": list(owners),
        "journey_stage": sorted(set(Stage.objects.values_list("name", flat=True)), key=str.lower),
        "persona": list(PERSONAS),
        "health_band": list(BANDS),
    }
    return {
        "fields": [{"name": f.name, "label": f.label or f.name, "kind": f.kind} for f in FIELDS.values()],
        "ops_by_kind": {kind: list(ops) for kind, ops in OPS_BY_KIND.items()},
        "values": values,
        "value_labels": VALUE_LABELS,
    }


def rule_preview(rule, *, segment: Segment | None = None, as_of: date | None = None, limit: int = 20) -> dict:
    """Who a rule being edited matches, before it is saved.

    Matches are counted against `as_of` (default: the latest date with results), as the nightly
    recompute would; `entering` and `leaving` compare them with the segment's open membership
    rows (none for a segment not saved yet). An invalid rule returns only its `errors`.
    A fixed number of queries, whatever the number of accounts.
    """
    errors = validate_rule(rule)
    if errors:
        return {"errors": errors}

    has_results = True
    if as_of is None:
        as_of = results_day()
        if as_of is None:
            has_results, as_of = False, timezone.localdate()
    matches = Account.objects.active_on(as_of).filter(compile_rule(rule, as_of))
    totals = matches.aggregate(count=Count("pk"), arr=Sum("arr"))
    if segment is None or segment.pk is None:
        members, entering, leaving = 0, totals["count"], 0
    else:
        current = SegmentMembership.objects.filter(segment=segment, left_on__isnull=True)
        current_ids = current.values("account_id")
        members = current.count()
        entering = matches.exclude(pk__in=current_ids).count()
        leaving = current.exclude(account_id__in=matches.values("pk")).count()
    band = HealthScore.objects.filter(account=OuterRef("pk"), as_of=as_of).values("band")[:1]
    first = (
        matches.select_related("vertical")
        .annotate(band=Coalesce(Subquery(band), Value("unknown")))
        .order_by("-arr", "name")[:limit]
    )
    return {
        "errors": [],
        "as_of": as_of,
        "has_results": has_results,
        "count": totals["count"],
        "arr": totals["arr"] or Decimal(0),
        "members": members,
        "entering": entering,
        "leaving": leaving,
        "first": [
            {"id": a.pk, "name": a.name, "vertical": a.vertical.name, "arr": a.arr, "band": a.band} for a in first
        ],
    }


def membership_over_time(day: date, *, segment: Segment | None = None, weeks: int = 52) -> dict:
    """Per segment, over the `weeks` weeks ending `day`: members at each week's end and how many
    stays entered and left during that week. Three grouped queries whatever the number of
    accounts: members at the first week end, then entries and exits per day after it, summed up.

    {"weeks": [week end dates], "segments": {segment id: {"members", "entered", "left"}}}
    """
    ends = [day - timedelta(weeks=k) for k in range(weeks, -1, -1)]
    start = ends[0]
    stays = SegmentMembership.objects.all() if segment is None else SegmentMembership.objects.filter(segment=segment)
    base = {
        r["segment_id"]: r["n"]
        for r in memberships_on(start)
        .filter(pk__in=stays.values("pk"))
        .values("segment_id")
        .annotate(n=Count("id"))
        .order_by()
    }
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


def with_touch_model(health_scores: QuerySet[HealthScore]) -> QuerySet[HealthScore]:
    """HealthScore rows annotated with `touch_model`: the account's that day ("" when none), read
    from TouchModelDay in the same query."""
    touch = TouchModelDay.objects.filter(account_id=OuterRef("account_id"), day=OuterRef("as_of"))
    return health_scores.annotate(touch_model=Coalesce(Subquery(touch.values("touch_model")[:1]), Value("")))


def touch_model_on(account_id: int, day) -> str:
    """The account's touch model on `day` ("" when none)."""
    return (
        TouchModelDay.objects.filter(account_id=account_id, day=day).values_list("touch_model", flat=True).first() or ""
    )
