"""Set-based detection of play triggers (SPEC §9) from one published day's results.

`detect(play, day)` answers, in a few queries whatever the number of accounts, which
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

from django.db import connection
from django.db.models import Q, QuerySet
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


def not_customers(day: date) -> set[int]:
    """Accounts that never fire on `day`: not customers that day (churned by it, not started) or
    with a band other than a customer band. Usually few; plays_fire looks them up once for all plays."""
    inactive = Account.objects.exclude(pk__in=Account.objects.active_on(day).values("pk")).values_list("pk", flat=True)
    others = HealthScore.objects.filter(as_of=day).exclude(band__in=CUSTOMER_BANDS).values_list("account_id", flat=True)
    return set(inactive) | set(others)


# Candidates of the condition per query: an IN list PostgreSQL plans as the small set it is.
_CONDITION_BATCH = 20_000


def detect(
    play, day: date, *, prev_day: date | None = None, accounts: QuerySet | None = None, excluded: set[int] | None = None
) -> dict[int, dict]:
    """{account id: trigger facts} of the accounts the play fires for on `day`.

    One query finds the trigger's accounts (those of `accounts` only, when given: an incremental
    run's); the customers among them are kept (`excluded`: `not_customers(day)`, looked up when not
    given), then one query per 20,000 of them checks the condition. Checking eligibility on the
    trigger's few accounts, rather than the trigger on every eligible account, keeps each play to
    one pass over the day's rows. `prev_day` (the previous published day) is looked up when not
    given. An unknown segment (renamed or deleted since the play was saved) matches nothing.
    """
    condition = compile_rule(play.condition, day) if play.condition else None  # a RuleError before any query
    if prev_day is None and (play.trigger or {}).get("type") in ("band_became", "renewal_within"):
        prev_day = previous_day(day)
    hits = _trigger_hits(play.trigger or {}, day, prev_day, accounts)
    if not hits:
        return hits
    if excluded is None:
        excluded = not_customers(day)
    hits = {pk: facts for pk, facts in hits.items() if pk not in excluded}
    if condition is not None and hits:
        ids, keep = sorted(hits), set()
        for i in range(0, len(ids), _CONDITION_BATCH):
            batch = Account.objects.filter(pk__in=ids[i : i + _CONDITION_BATCH]).filter(condition)
            keep.update(batch.values_list("pk", flat=True))
        hits = {pk: facts for pk, facts in hits.items() if pk in keep}
    return hits


def _within(accounts: QuerySet | None, column: str) -> tuple[str, list]:
    """An SQL condition limiting `column` to `accounts` (nothing when None), with its parameters."""
    if accounts is None:
        return "", []
    sql, params = accounts.values("pk").query.sql_with_params()
    return f" AND {column} IN ({sql})", list(params)


def _trigger_hits(trigger: dict, day: date, prev_day: date | None, accounts: QuerySet | None) -> dict[int, dict]:
    """The trigger alone: {account id: facts} of the accounts (of `accounts`, when given) it fires for."""
    kind = trigger.get("type")
    if kind in ("segment_entered", "segment_left"):
        segment = Segment.objects.filter(name__iexact=trigger.get("segment", "")).first()
        if segment is None:
            return {}
        stays = SegmentMembership.objects.filter(
            segment=segment, **{"entered_on" if kind == "segment_entered" else "left_on": day}
        )
        if accounts is not None:
            stays = stays.filter(account_id__in=accounts.values("pk"))
        return {pk: {"segment": segment.name} for pk in stays.values_list("account_id", flat=True).distinct()}
    table = HealthScore._meta.db_table
    if kind == "band_became":
        band = str(trigger.get("band", "")).lower()
        if prev_day is None:
            return {}
        # The two days' rows joined once (a correlated subquery per row was a lookup per account).
        where, params = _within(accounts, "cur.account_id")
        rows = _fetch(
            f"SELECT cur.account_id, past.band FROM {table} cur JOIN {table} past"
            f" ON past.account_id = cur.account_id AND past.as_of = %s"
            f" WHERE cur.as_of = %s AND cur.band = %s AND past.band <> %s{where}",
            [prev_day, day, band, band, *params],
        )  # fmt: skip
        return {pk: {"band": band, "band_then": then, "since": prev_day.isoformat()} for pk, then in rows}
    if kind == "score_dropped":
        points = int(trigger.get("points", 0))
        where, params = _within(accounts, "cur.account_id")
        rows = _fetch(
            f"SELECT cur.account_id, past.score, cur.score FROM {table} cur JOIN {table} past"
            f" ON past.account_id = cur.account_id AND past.as_of = %s"
            f" WHERE cur.as_of = %s AND cur.score IS NOT NULL AND past.score IS NOT NULL"
            f" AND cur.score <= past.score - %s{where}",
            [day - timedelta(days=SCORE_DROP_DAYS), day, points, *params],
        )  # fmt: skip
        return {pk: {"points": then - now, "score_then": then, "score_now": now} for pk, then, now in rows}
    if kind == "renewal_within":
        days = int(trigger.get("days", 0))
        since = prev_day if prev_day is not None else day - timedelta(days=1)
        rows = Account.objects.filter(
            renewal_date__gt=since + timedelta(days=days), renewal_date__lte=day + timedelta(days=days),
            renewal_date__gte=day,
        )  # fmt: skip
        if accounts is not None:
            rows = rows.filter(pk__in=accounts.values("pk"))
        return {
            pk: {"days": days, "renewal_date": r.isoformat(), "days_to_renewal": (r - day).days}
            for pk, r in rows.values_list("pk", "renewal_date")
        }
    if kind == "driver_unused":
        drivers = StatedDriver.objects.annotate(recorded_day=TruncDate("recorded_at")).filter(Q(recorded_day__lte=day))
        if accounts is not None:
            drivers = drivers.filter(account_id__in=accounts.values("pk"))
        drivers = (
            drivers.annotate(events=driver_events_90d(day))
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


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
