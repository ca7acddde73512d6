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


# Accounts per query when checking eligibility or a condition: an IN list PostgreSQL plans as the
# small set it is.
_BATCH = 20_000


class DayScan:
    """What the plays of one firing share for `day`, looked up once: the previous published day,
    the accounts whose band changed since it, the week's score drops (from the smallest drop any
    of `plays` asks for), and whether an account is a customer that day (asked only of the
    accounts some trigger found). `accounts` (an incremental run's ids) limits every lookup."""

    def __init__(self, day: date, *, prev_day: date | None = None, accounts: QuerySet | None = None, plays=()):
        self.day, self.accounts = day, accounts
        self.prev_day = prev_day if prev_day is not None else previous_day(day)
        drops = [
            int((p.trigger or {}).get("points", 0)) for p in plays if (p.trigger or {}).get("type") == "score_dropped"
        ]
        self._drop_floor = min(drops) if drops else None
        self._bands: list[tuple] | None = None
        self._drops: tuple[int, list[tuple]] | None = None
        self._customer: dict[int, bool] = {}

    def band_changes(self) -> list[tuple[int, str, str]]:
        """(account id, band on day, band on the previous day) of the accounts whose band changed."""
        if self._bands is None:
            if self.prev_day is None:
                self._bands = []
            else:
                # The two days' rows joined once (a correlated subquery per row was a lookup per account).
                where, params = _within(self.accounts, "cur.account_id")
                self._bands = _fetch(
                    f"SELECT cur.account_id, cur.band, past.band FROM {_HS} cur JOIN {_HS} past"
                    f" ON past.account_id = cur.account_id AND past.as_of = %s"
                    f" WHERE cur.as_of = %s AND cur.band <> past.band{where}",
                    [self.prev_day, self.day, *params],
                )
        return self._bands

    def score_drops(self, points: int) -> list[tuple[int, int, int]]:
        """(account id, score 7 days before, score on day) of the accounts whose score fell ≥ `points`."""
        if self._drops is None or self._drops[0] > points:
            floor = min(points, self._drop_floor if self._drop_floor is not None else points)
            where, params = _within(self.accounts, "cur.account_id")
            rows = _fetch(
                f"SELECT cur.account_id, past.score, cur.score FROM {_HS} cur JOIN {_HS} past"
                f" ON past.account_id = cur.account_id AND past.as_of = %s"
                f" WHERE cur.as_of = %s AND cur.score IS NOT NULL AND past.score IS NOT NULL"
                f" AND cur.score <= past.score - %s{where}",
                [self.day - timedelta(days=SCORE_DROP_DAYS), self.day, floor, *params],
            )
            self._drops = (floor, rows)
        return [row for row in self._drops[1] if row[1] - row[2] >= points]

    def customers(self, ids) -> set[int]:
        """Those of `ids` that can fire on `day`: customers that day (not churned by it, started) with
        a customer band (not churned, not_started…)."""
        unknown = sorted(pk for pk in ids if pk not in self._customer)
        for start in range(0, len(unknown), _BATCH):
            batch = unknown[start : start + _BATCH]
            active = set(Account.objects.active_on(self.day).filter(pk__in=batch).values_list("pk", flat=True))
            others = HealthScore.objects.filter(as_of=self.day, account_id__in=batch).exclude(band__in=CUSTOMER_BANDS)
            active -= set(others.values_list("account_id", flat=True))
            self._customer.update((pk, pk in active) for pk in batch)
        return {pk for pk in ids if self._customer[pk]}


def detect(
    play, day: date, *, prev_day: date | None = None, accounts: QuerySet | None = None, scan: DayScan | None = None
) -> dict[int, dict]:
    """{account id: trigger facts} of the accounts the play fires for on `day`.

    The trigger's accounts are found first (those of `accounts` only, when given: an incremental
    run's), then the customers among them kept and the condition checked on them, 20,000 per
    query. Checking eligibility on the trigger's few accounts, rather than the trigger on every
    eligible account, keeps a play to one pass over the day's rows; `scan` (a DayScan of the
    firing) shares the passes between plays. An unknown segment (renamed or deleted since the
    play was saved) matches nothing.
    """
    condition = compile_rule(play.condition, day) if play.condition else None  # a RuleError before any query
    if scan is None:
        scan = DayScan(day, prev_day=prev_day, accounts=accounts, plays=[play])
    hits = _trigger_hits(play.trigger or {}, scan)
    if not hits:
        return hits
    keep = scan.customers(hits)
    if condition is not None and keep:
        ids, keep = sorted(keep), set()
        for start in range(0, len(ids), _BATCH):
            batch = Account.objects.filter(pk__in=ids[start : start + _BATCH]).filter(condition)
            keep.update(batch.values_list("pk", flat=True))
    return {pk: facts for pk, facts in hits.items() if pk in keep}


_HS = HealthScore._meta.db_table


def _within(accounts: QuerySet | None, column: str) -> tuple[str, list]:
    """An SQL condition limiting `column` to `accounts` (nothing when None), with its parameters."""
    if accounts is None:
        return "", []
    sql, params = accounts.values("pk").query.sql_with_params()
    return f" AND {column} IN ({sql})", list(params)


def _trigger_hits(trigger: dict, scan: DayScan) -> dict[int, dict]:
    """The trigger alone: {account id: facts} of the accounts (of `scan.accounts`, when given) it fires for."""
    kind, day, prev_day, accounts = trigger.get("type"), scan.day, scan.prev_day, scan.accounts
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
    if kind == "band_became":
        band = str(trigger.get("band", "")).lower()
        return {
            pk: {"band": band, "band_then": then, "since": prev_day.isoformat()}
            for pk, now, then in scan.band_changes()
            if now == band
        }
    if kind == "score_dropped":
        rows = scan.score_drops(int(trigger.get("points", 0)))
        return {pk: {"points": then - now, "score_then": then, "score_now": now} for pk, then, now in rows}
    if kind == "renewal_within":
        days = int(trigger.get("days", 0))
        since = prev_day if prev_day is not None else day - timedelta(days=1)
        rows = Account.objects.filter(
            renewal_date__gt=since + timedelta(days=days),
            renewal_date__lte=day + timedelta(days=days),
            renewal_date__gte=day,
        )
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
