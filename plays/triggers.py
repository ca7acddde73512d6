"""Set-based detection of play triggers (SPEC §9) from one published day's results.

`detect(play, day)` answers, in one or two queries whatever the number of accounts, which
accounts meet the play's trigger and condition on `day`, with each account's trigger facts.
Only customers that day can fire: accounts churned by `day`, and any band other than healthy,
neutral, at_risk or unknown (churned, not_started…), never do.

Triggers are *events*, read off the day's changes, except `driver_unused`, which is a state
(cooldown keeps it from repeating):

| type            | fires on `day` when                                                        |
|-----------------|----------------------------------------------------------------------------|
| segment_entered | a SegmentMembership of the segment has entered_on = day                     |
| segment_left    | … has left_on = day                                                         |
| band_became     | the band is X on day and was another band on the previous published day    |
| score_dropped   | score(day) ≤ score(day − 7) − points                                        |
| renewal_within  | days to renewal crossed N since the previous published day (it is ≤ N now, was > N then) |
| driver_unused   | a stated driver recorded by day has had no events in the 90 days up to day |
"""

from datetime import date, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate

from accounts.models import Account, StatedDriver
from accounts.selectors import driver_events_90d
from health.models import HealthScore
from segments.compiler import compile_rule
from segments.models import Segment, SegmentMembership
from segments.rules import BANDS

CUSTOMER_BANDS = BANDS  # healthy, neutral, at_risk, unknown: a customer that day
SCORE_DROP_DAYS = 7
DRIVER_DAYS = 90

TRIGGER_PARAMS = {
    "segment_entered": ("segment", "text"),
    "segment_left": ("segment", "text"),
    "band_became": ("band", "band"),
    "score_dropped": ("points", "int"),
    "renewal_within": ("days", "int"),
    "driver_unused": (None, None),
}


def previous_day(day: date) -> date | None:
    """The latest published day before `day` (band changes compare with it; days may have gaps)."""
    return HealthScore.objects.filter(as_of__lt=day).order_by("-as_of").values_list("as_of", flat=True).first()


def eligible_accounts(day: date, condition: dict | None) -> QuerySet[Account]:
    """Customers on `day` (not churned, band a customer band) that meet the condition rule."""
    not_customers = HealthScore.objects.filter(as_of=day).exclude(band__in=CUSTOMER_BANDS).values("account_id")
    accounts = Account.objects.active_on(day).exclude(pk__in=not_customers)
    if condition:
        accounts = accounts.filter(compile_rule(condition, day))
    return accounts


def detect(
    play, day: date, *, prev_day: date | None = None, eligible: QuerySet[Account] | None = None
) -> dict[int, dict]:
    """{account id: trigger facts} of the accounts the play fires for on `day`.

    `prev_day` (the previous published day) is looked up when not given. An unknown segment
    (renamed or deleted since the play was saved) matches nothing.
    """
    trigger = play.trigger or {}
    kind = trigger.get("type")
    accounts = eligible if eligible is not None else eligible_accounts(day, play.condition)
    if kind in ("segment_entered", "segment_left"):
        segment = Segment.objects.filter(name__iexact=trigger.get("segment", "")).first()
        if segment is None:
            return {}
        stays = SegmentMembership.objects.filter(
            segment=segment, **{"entered_on" if kind == "segment_entered" else "left_on": day}
        )
        ids = accounts.filter(pk__in=stays.values("account_id")).values_list("pk", flat=True)
        return {pk: {"segment": segment.name} for pk in ids}
    if kind == "band_became":
        band = str(trigger.get("band", "")).lower()
        if prev_day is None:
            prev_day = previous_day(day)
        if prev_day is None:
            return {}
        before = HealthScore.objects.filter(account_id=OuterRef("account_id"), as_of=prev_day)
        rows = (
            HealthScore.objects.filter(as_of=day, band=band, account_id__in=accounts.values("pk"))
            .filter(Exists(before.exclude(band=band)))
            .annotate(band_then=Subquery(before.values("band")[:1]))
            .values_list("account_id", "band_then")
        )
        return {pk: {"band": band, "band_then": then, "since": prev_day.isoformat()} for pk, then in rows}
    if kind == "score_dropped":
        points = int(trigger.get("points", 0))
        then = HealthScore.objects.filter(
            account_id=OuterRef("account_id"), as_of=day - timedelta(days=SCORE_DROP_DAYS)
        )
        rows = (
            HealthScore.objects.filter(as_of=day, score__isnull=False, account_id__in=accounts.values("pk"))
            .annotate(score_then=Subquery(then.values("score")[:1]))
            .filter(score_then__isnull=False, score__lte=F("score_then") - points)
            .values_list("account_id", "score_then", "score")
        )
        return {pk: {"points": then - now, "score_then": then, "score_now": now} for pk, then, now in rows}
    if kind == "renewal_within":
        days = int(trigger.get("days", 0))
        if prev_day is None:
            prev_day = previous_day(day)
        since = prev_day if prev_day is not None else day - timedelta(days=1)
        rows = accounts.filter(
            renewal_date__gt=since + timedelta(days=days), renewal_date__lte=day + timedelta(days=days),
            renewal_date__gte=day,
        ).values_list("pk", "renewal_date")  # fmt: skip
        return {pk: {"days": days, "renewal_date": r.isoformat(), "days_to_renewal": (r - day).days} for pk, r in rows}
    if kind == "driver_unused":
        drivers = (
            StatedDriver.objects.filter(account_id__in=accounts.values("pk"))
            .annotate(recorded_day=TruncDate("recorded_at"))
            .filter(Q(recorded_day__lte=day))
            .annotate(events=driver_events_90d(day))
            .filter(events=0)
            .order_by("account_id", "feature__name")
            .values_list("account_id", "feature__name")
        )
        hits: dict[int, dict] = {}
        for pk, feature in drivers:
            features = hits.setdefault(pk, {"features": []})["features"]
            if feature not in features:
                features.append(feature)
        return hits
    return {}
