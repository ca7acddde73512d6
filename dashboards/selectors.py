"""Reads for the revenue and vertical dashboards (aggregated in SQL; no per-account queries)."""

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, F, FilteredRelation, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts.models import Account, ArrChange, StatedDriver, UseCase, Vertical
from accounts.selectors import driver_events_90d
from dashboards.models import RevenueDay, VerticalDay
from dashboards.rollups import (
    HistogramBin,
    ParetoPoint,
    Retention,
    RetentionFigures,
    RevenueHistory,
    RevenueTrend,
    TrendSeries,
    VerticalRetention,
    VerticalUseCaseCounts,
)
from health.models import SLIPPING_DAYS, SLIPPING_POINTS, Band, HealthScore  # noqa: F401 (the risk page's wording)
from health.selectors import BandMove, band_moves, published_day_before
from segments.selectors import SegmentMoves, memberships_on, segment_moves

BANDS = ("healthy", "neutral", "at_risk", "unknown")


class DayChanges(NamedTuple):
    """What a published day changed against the published day before it (None: the first day)."""

    day: date
    previous: date | None
    segments: list[SegmentMoves]
    bands: list[BandMove]


def day_changes(day: date) -> DayChanges:
    """Entered/left per segment and band moves of `day` against the previous published day: the
    run page's "what changed" (three queries, whatever the number of accounts and segments)."""
    previous = published_day_before(day)
    bands = band_moves(day, previous) if previous else []
    return DayChanges(day, previous, segment_moves(day, previous), bands)


def concentration(day: date, share: int = 40, *, total: Decimal | None = None) -> dict:
    """How few accounts make `share`% of active ARR ("12 accounts are 40% of ARR").

    `total` is the active ARR when the caller has it already (revenue_overview does). The accounts
    come largest ARR first straight from the ARR index (an index-only scan); only the few thousand
    that make the share are read into Python, not one Decimal per account.
    """
    active = Account.objects.active_on(day).filter(arr__gt=0)
    if total is None:
        total = active.aggregate(total=Sum("arr"))["total"] or Decimal(0)
    sql, params = active.order_by("-arr").values_list("arr").query.sql_with_params()
    count = fetched = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        running, reached = Decimal(0), False
        while not reached and (rows := cursor.fetchmany(2000)):
            fetched += len(rows)
            for (arr,) in rows:
                if running * 100 >= total * share:
                    reached = True
                    break
                running += Decimal(str(arr))
                count += 1
        # PostgreSQL reports the number of rows; SQLite (-1) only by reading them.
        of_accounts = cursor.rowcount if cursor.rowcount >= 0 else fetched + len(cursor.fetchall())
    return {"share": share, "accounts": count, "of_accounts": of_accounts, "total_arr": total}


def vertical_days_rolled_up(day: date | None) -> bool:
    """False when `day` has results but no VerticalDay rows: only possible when something bypassed
    the pipeline (publish writes them with the results), and the pages then say so rather than
    compute the figures live. At most two queries; callers ask only when they found no rows."""
    if day is None or VerticalDay.objects.filter(day=day).exists():
        return True
    return not HealthScore.objects.filter(as_of=day).exists()


def revenue_by_vertical(day: date | None) -> list[dict]:
    """Per vertical, the accounts scored on `day` (churned left out): accounts, ARR, share of ARR,
    average ARR, ARR at risk and the health mix, largest ARR first — read from the VerticalDay
    rollup (one query over a row per vertical). [] for a day without a rollup."""
    rows = list(VerticalDay.objects.filter(day=day).select_related("vertical")) if day else []
    total = sum((r.arr for r in rows), Decimal(0))
    out = [
        {
            "vertical": r.vertical.name,
            "slug": r.vertical.slug,
            "accounts": r.accounts,
            "arr": r.arr,
            "share_of_arr": round(float(r.arr) / float(total) * 100, 2) if total else 0.0,
            "average_arr": round(float(r.arr) / r.accounts, 2) if r.accounts else 0.0,
            "arr_at_risk": r.arr_at_risk,
            "health_mix": {band: getattr(r, band) for band in BANDS},
        }
        for r in rows
    ]
    return sorted(out, key=lambda v: (-v["arr"], v["vertical"]))


def revenue_overview(day: date | None) -> dict:
    """Revenue by vertical on `day`, from the rollup written with the day's results. `rolled_up`
    is False for a day with no rollup (the pages then say so instead of computing it live)."""
    verticals = revenue_by_vertical(day)
    total_arr = sum((v["arr"] for v in verticals), Decimal(0))
    return {
        "as_of": day,
        # A day with results always has rollup rows unless the pipeline was bypassed (one query more only then).
        "rolled_up": bool(verticals) or vertical_days_rolled_up(day),
        "verticals": verticals,
        "total_arr": total_arr,
        "arr_at_risk": sum((v["arr_at_risk"] for v in verticals), Decimal(0)),
        "accounts": sum(v["accounts"] for v in verticals),
        # Computed when a page shows it (/revenue/), not for /verticals/ or the CSV.
        "concentration": SimpleLazyObject(lambda: concentration(day or timezone.localdate(), total=total_arr)),
    }


def vertical_report(slug: str, day: date | None) -> dict | None:
    """One vertical's row of revenue_by_vertical (zeros when it had no scored account that day), or
    None for an unknown slug."""
    vertical = Vertical.objects.filter(slug=slug).first()
    if vertical is None:
        return None
    for row in revenue_by_vertical(day):
        if row["slug"] == vertical.slug:
            return row
    return {
        "vertical": vertical.name,
        "slug": vertical.slug,
        "accounts": 0,
        "arr": Decimal(0),
        "share_of_arr": 0.0,
        "average_arr": 0.0,
        "arr_at_risk": Decimal(0),
        "health_mix": dict.fromkeys(BANDS, 0),
    }


# --- /verticals/<slug>/ ----------------------------------------------------------------------

RISK_MATRIX_TOP = 500  # the largest accounts by ARR…
RISK_MATRIX_AT_RISK = 500  # …plus the at-risk ones (largest first), so the matrix stays readable


def vertical_day(vertical: Vertical, day: date | None) -> VerticalDay | None:
    return VerticalDay.objects.filter(vertical=vertical, day=day).first() if day else None


def vertical_summary(row: VerticalDay | None) -> dict:
    """The vertical's headline figures from its rollup row of the day."""
    return {
        "accounts": row.accounts if row else 0,
        "arr": row.arr if row else Decimal(0),
        "arr_at_risk": row.arr_at_risk if row else Decimal(0),
        "median_score": row.median_score if row else None,
        "mix": {band: getattr(row, band) if row else 0 for band in BANDS},
    }


def score_histogram(summary_row: VerticalDay | None) -> list[dict]:
    """Accounts per (score, band) on the rollup's day (at most 101 × 3 rows, stored with it)."""
    if summary_row is None:
        return []
    bins = (HistogramBin.from_json(b) for b in summary_row.histogram)
    return [{"score": b.score, "band": b.band, "n": b.accounts} for b in bins]


def risk_matrix(vertical: Vertical, day: date | None, *, scored_accounts: int) -> dict:
    """Scored accounts as points (ARR × score): the RISK_MATRIX_TOP largest by ARR plus the
    RISK_MATRIX_AT_RISK largest at-risk ones (two bounded queries); `scored_accounts` is how many
    there are in all (from the rollup)."""
    if day is None:
        return {"points": [], "accounts": 0, "capped": False}
    # Walked from the account side, largest ARR first, through the (vertical, arr) index: each
    # account's score of the day is one unique-index lookup, and the walk stops at the limit.
    scored = Account.objects.annotate(
        day_score=FilteredRelation("health_scores", condition=Q(health_scores__as_of=day))
    )
    scored = scored.filter(vertical=vertical, arr__gt=0, day_score__score__isnull=False)
    fields = ("pk", "name", "arr", "day_score__score", "day_score__band")
    top = scored.order_by("-arr", "pk").values_list(*fields)[:RISK_MATRIX_TOP]
    at_risk = (
        scored.filter(day_score__band=Band.AT_RISK).order_by("-arr", "pk").values_list(*fields)[:RISK_MATRIX_AT_RISK]
    )
    top = list(top)
    points = {row[0]: row for row in [*top, *at_risk]}
    total = max(scored_accounts, len(points))
    return {
        "points": [
            {"id": pk, "name": name, "arr": float(arr), "score": score, "band": band}
            for pk, name, arr, score, band in points.values()
        ],
        "accounts": total,
        "capped": len(top) >= RISK_MATRIX_TOP and total > len(points),
    }


def use_case_adoption(row: VerticalDay | None) -> list[dict]:
    """Per use case: the share of the vertical's healthy and of its at-risk accounts running it, from
    the rollup row of the day (one query for the use case names)."""
    by_use_case = VerticalUseCaseCounts.from_json(row.use_cases).by_use_case if row is not None else {}
    if not by_use_case:
        return []
    names = dict(UseCase.objects.filter(pk__in=list(by_use_case)).values_list("pk", "name"))
    out = []
    for pk, counts in by_use_case.items():
        out.append(
            {
                "use_case": names.get(pk, "?"),
                "healthy": counts.healthy,
                "at_risk": counts.at_risk,
                "accounts": counts.accounts,
                "arr": counts.arr,
                "healthy_share": round(100 * counts.healthy / row.healthy, 1) if row.healthy else 0.0,
                "at_risk_share": round(100 * counts.at_risk / row.at_risk, 1) if row.at_risk else 0.0,
            }
        )
    return sorted(out, key=lambda i: (-i["healthy_share"], i["use_case"]))


def vertical_history(vertical: Vertical, day: date | None, *, days: int = 365) -> list[VerticalDay]:
    """The rollup rows of the last `days` days up to `day` (at most `days` rows, one query)."""
    if day is None:
        return []
    rows = VerticalDay.objects.filter(vertical=vertical, day__range=(day - timedelta(days=days - 1), day))
    # The trend needs the counts only: a year of histograms and use-case JSON would be decoded for nothing.
    return list(rows.defer("histogram", "use_cases", "journey_stages").order_by("day"))


# --- /revenue/: ARR history, retention, concentration ------------------------------------------
# ARR at a date is the account's latest ArrChange on or before it. Summing each account's changes
# as deltas (arr − the previous change's arr) up to a date telescopes to exactly that value, so one
# pass over ArrChange with conditional sums gives every month end at once — no per-account or
# per-month query. Churned accounts count from their churned_on on as 0.


def _arr_deltas_sql() -> str:
    return (
        f"SELECT account_id, date, arr - COALESCE(LAG(arr) OVER (PARTITION BY account_id ORDER BY date), 0) AS delta "
        f"FROM {ArrChange._meta.db_table} WHERE date <= %s"
    )


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def month_ends(day: date, months: int = 12) -> list[date]:
    """The last day of each of the `months` months before `day`'s month, then `day` itself."""
    ends, first = [], day.replace(day=1)
    for _ in range(months):
        first_prev = (first - timedelta(days=1)).replace(day=1)
        ends.append(first - timedelta(days=1))
        first = first_prev
    return [*reversed(ends), day]


def arr_trend(day: date, months: int = 12) -> RevenueTrend:
    """ARR per vertical at each of month_ends(day), largest (at `day`) first. One query."""
    dates = month_ends(day, months)
    columns = ", ".join(
        "SUM(CASE WHEN d.date <= %s AND (a.churned_on IS NULL OR a.churned_on > %s) THEN d.delta ELSE 0 END)"
        for _ in dates
    )
    params = [p for d in dates for p in (d, d)] + [dates[-1]]
    sql = (
        f"SELECT a.vertical_id, {columns} FROM ({_arr_deltas_sql()}) d "
        f"JOIN {Account._meta.db_table} a ON a.id = d.account_id GROUP BY a.vertical_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = {r[0]: [_money(v) for v in r[1:]] for r in cursor.fetchall()}
    names = dict(Vertical.objects.filter(pk__in=rows).values_list("pk", "name"))
    slugs = dict(Vertical.objects.filter(pk__in=rows).values_list("pk", "slug"))
    series = [TrendSeries(vertical=names[pk], slug=slugs[pk], arr=values) for pk, values in rows.items()]
    series.sort(key=lambda s: (-s.arr[-1], s.vertical))
    return RevenueTrend(dates=dates, verticals=series)


def retention(day: date) -> Retention:
    """Net and gross revenue retention per vertical over the year ending `day`.

    Cohort: accounts with ARR > 0 one year before `day` and not churned then. NRR = their ARR on
    `day` (0 if churned by then) / their ARR then; GRR the same with each account's ARR on `day`
    capped at its ARR then. Figures in %, None without a cohort. One query.
    """
    start = day - timedelta(days=365)
    sql = (
        "SELECT vertical_id, COUNT(*), SUM(then_arr), SUM(now_arr), "
        "SUM(CASE WHEN now_arr < then_arr THEN now_arr ELSE then_arr END) FROM ("
        "  SELECT a.vertical_id AS vertical_id,"
        "    SUM(CASE WHEN d.date <= %s THEN d.delta ELSE 0 END) AS then_arr,"
        "    CASE WHEN a.churned_on IS NOT NULL AND a.churned_on <= %s THEN 0 ELSE SUM(d.delta) END AS now_arr"
        f"  FROM ({_arr_deltas_sql()}) d JOIN {Account._meta.db_table} a ON a.id = d.account_id"
        "  WHERE a.churned_on IS NULL OR a.churned_on > %s"
        "  GROUP BY a.id, a.vertical_id, a.churned_on"
        ") cohort WHERE then_arr > 0 GROUP BY vertical_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, day, day, start])
        rows = cursor.fetchall()
    names = dict(Vertical.objects.values_list("pk", "name"))

    def figures(accounts, then, now, capped) -> dict:
        then, now, capped = _money(then), _money(now), _money(capped)
        return {
            "accounts": accounts,
            "arr_then": then,
            "arr_now": now,
            "arr_kept": capped,
            "nrr": round(float(now / then * 100), 1) if then else None,
            "grr": round(float(capped / then * 100), 1) if then else None,
        }

    verticals = sorted(
        (
            VerticalRetention(vertical=names[vertical_id], **figures(accounts, then, now, kept))
            for vertical_id, accounts, then, now, kept in rows
        ),
        key=lambda v: (-v.arr_then, v.vertical),
    )
    total = RetentionFigures(
        **figures(
            sum(v.accounts for v in verticals),
            sum((v.arr_then for v in verticals), Decimal(0)),
            sum((v.arr_now for v in verticals), Decimal(0)),
            sum((v.arr_kept for v in verticals), Decimal(0)),
        )
    )
    return Retention(start=start, end=day, verticals=verticals, total=total)


PARETO_POINTS = 200


def pareto(day: date) -> list[ParetoPoint]:
    """The concentration curve: cumulative share of active ARR held by the top k accounts, at about
    PARETO_POINTS evenly spaced k (every k when there are fewer accounts). One query."""
    account = Account._meta.db_table
    sql = (
        "SELECT rn, n, cum FROM ("
        # No tie-break on id: the top k ARRs sum to the same whichever of equal ARRs come first, and
        # ordering by ARR alone walks the ARR index backwards (an index-only scan, no sort).
        "  SELECT ROW_NUMBER() OVER (ORDER BY arr DESC) AS rn, COUNT(*) OVER () AS n,"
        "    SUM(arr) OVER (ORDER BY arr DESC ROWS UNBOUNDED PRECEDING) AS cum"
        f"  FROM {account} WHERE (churned_on IS NULL OR churned_on > %s) AND arr > 0"
        f") ranked WHERE rn = 1 OR rn = n OR (rn * {PARETO_POINTS}) %% n < {PARETO_POINTS} ORDER BY rn"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [day])
        rows = cursor.fetchall()
    if not rows:
        return []
    total = _money(rows[-1][2])
    return [
        ParetoPoint(
            accounts=rn,
            share_of_accounts=round(100 * rn / n, 2),
            cumulative_arr=_money(cum),
            share_of_arr=round(float(_money(cum) / total * 100), 2) if total else 0.0,
        )
        for rn, n, cum in rows
    ]


def arr_by_vertical_and_use_case(day: date) -> list[dict]:
    """Active ARR per (vertical, primary use case), largest first: the treemap's leaves. One query."""
    rows = (
        Account.objects.active_on(day)
        .values("vertical__name", "primary_use_case__name")
        .annotate(arr=Sum("arr"), accounts=Count("id"))
        .order_by("-arr", "vertical__name", "primary_use_case__name")
    )
    return [
        {
            "vertical": r["vertical__name"],
            "use_case": r["primary_use_case__name"] or "(none)",
            "arr": r["arr"] or Decimal(0),
            "accounts": r["accounts"],
        }
        for r in rows
    ]


def revenue_history(day: date | None) -> RevenueHistory | None:
    """The ARR trend, retention and concentration curve as of `day`, as stored with the day's
    results (RevenueDay, one query); None for a day without them (the page says so)."""
    stored = RevenueDay.objects.filter(day=day).first() if day else None
    if stored is None:
        return None
    return RevenueHistory(
        day=stored.day,
        trend=RevenueTrend.from_json(stored.trend),
        retention=Retention.from_json(stored.retention),
        pareto=[ParetoPoint.from_json(p) for p in stored.pareto],
    )


# --- Risk: at-risk and slipping accounts ------------------------------------------------------


def _with_health(accounts: QuerySet[Account], **days: date) -> QuerySet[Account]:
    """Accounts joined (LEFT JOIN, one row each thanks to the unique (account, as_of) index) to
    their HealthScore on each named day: `_with_health(qs, now=d, then=d - 30)` → `now__score`…"""
    return accounts.annotate(
        **{name: FilteredRelation("health_scores", condition=Q(health_scores__as_of=day)) for name, day in days.items()}
    )


def _risk_row_fields() -> dict:
    """What a risk row reads from the day's score (joined as `now`), the score 30 days before included."""
    return {"score_now": F("now__score"), "band_now": F("now__band"), "score_then": F("now__score_30d_ago")}


def risk_accounts(day: date, *, vertical: str = "", owner: str = "", segment: str = "", user=None) -> QuerySet[Account]:
    """Active accounts at risk on `day` or slipping (score down ≥ 15 points since 30 days before),
    largest ARR first, annotated with score/band now and then. Filters: vertical slug, owner id,
    segment slug; `user` narrows to that owner's book.

    One day's rows only: `slipping` and the score 30 days before are precomputed on the day's
    HealthScore row when it is published, so the list is read through the partial index
    health_day_risk_idx instead of joining two days of scores for every account."""
    accounts = _with_health(Account.objects.active_on(day), now=day)
    if vertical:
        accounts = accounts.filter(vertical__slug=vertical)
    if owner:
        accounts = accounts.filter(owner_id=owner)
    if user is not None:
        accounts = accounts.in_book_of(user)
    if segment:
        members = memberships_on(day).filter(segment__slug=segment).values("account_id")
        accounts = accounts.filter(pk__in=members)
    return (
        accounts.filter(Q(now__band=Band.AT_RISK) | Q(now__slipping=True))
        .annotate(**_risk_row_fields())
        .select_related("vertical", "owner")
        .order_by("-arr", "name", "pk")
    )


def risk_summary(accounts: QuerySet[Account]) -> dict:
    """Count and ARR of a risk list, split into at risk and slipping (one query)."""
    at_risk = Q(now__band=Band.AT_RISK)
    row = accounts.order_by().aggregate(
        n=Count("pk"),
        total_arr=Coalesce(Sum("arr"), Value(Decimal(0))),
        n_at_risk=Count("pk", filter=at_risk),
        at_risk_total_arr=Coalesce(Sum("arr", filter=at_risk), Value(Decimal(0))),
    )
    totals = {
        "accounts": row["n"],
        "arr": row["total_arr"],
        "at_risk": row["n_at_risk"],
        "at_risk_arr": row["at_risk_total_arr"],
        "slipping": row["n"] - row["n_at_risk"],
        "slipping_arr": row["total_arr"] - row["at_risk_total_arr"],
    }
    return totals


def days_until(day: date, other: date | None) -> int | None:
    return None if other is None else (other - day).days


def describe_risk_row(account: Account, day: date) -> Account:
    """Adds what a risk row shows beyond the query: days to renewal, score change, band label."""
    account.days_to_renewal = days_until(day, account.renewal_date)
    both = account.score_now is not None and account.score_then is not None
    account.score_change = account.score_now - account.score_then if both else None
    account.band_label = Band(account.band_now).label if account.band_now else Band.UNKNOWN.label
    return account


# --- Home: a CSM's book ------------------------------------------------------------------------


def book_by_vertical(user, day: date | None) -> list[dict]:
    """The user's active accounts per vertical with ARR and band counts on `day` (one query)."""
    today = day or timezone.localdate()
    accounts = _with_health(Account.objects.active_on(today).in_book_of(user), now=today)
    rows = (
        accounts.values("vertical__name", "vertical__slug")
        .annotate(
            accounts=Count("pk"),
            arr=Coalesce(Sum("arr"), Value(Decimal(0))),
            healthy=Count("pk", filter=Q(now__band=Band.HEALTHY)),
            neutral=Count("pk", filter=Q(now__band=Band.NEUTRAL)),
            at_risk=Count("pk", filter=Q(now__band=Band.AT_RISK)),
        )
        .order_by("-arr", "vertical__name")
    )
    out = []
    for r in rows:
        mix = {b: r[b] for b in BANDS[:3]}
        mix["unknown"] = r["accounts"] - sum(mix.values())
        out.append(
            {
                "vertical": r["vertical__name"],
                "slug": r["vertical__slug"],
                "accounts": r["accounts"],
                "arr": r["arr"],
                "health_mix": mix,
            }
        )
    return out


def my_at_risk(user, day: date, *, limit: int = 10) -> list[Account]:
    """The user's accounts in the at-risk band on `day`, largest ARR first (top `limit`)."""
    accounts = _with_health(Account.objects.active_on(day).in_book_of(user), now=day)
    return list(
        accounts.filter(now__band=Band.AT_RISK)
        .annotate(**_risk_row_fields())
        .select_related("vertical")
        .order_by("-arr", "name", "pk")[:limit]
    )


# A band "drops" when it moves down the ladder healthy → neutral → at risk.
BAND_DROPS = Q(then__band=Band.HEALTHY, now__band__in=[Band.NEUTRAL, Band.AT_RISK]) | Q(
    then__band=Band.NEUTRAL, now__band=Band.AT_RISK
)


def band_drops(user, day: date, *, days: int = 7, limit: int = 20) -> list[Account]:
    """The user's accounts whose band dropped between `days` days before `day` and `day`."""
    accounts = _with_health(Account.objects.active_on(day).in_book_of(user), now=day, then=day - timedelta(days=days))
    dropped = list(
        accounts.filter(BAND_DROPS)
        .annotate(
            score_now=F("now__score"), band_now=F("now__band"), score_then=F("then__score"), band_then=F("then__band")
        )
        .select_related("vertical")
        .order_by("-arr", "name", "pk")[:limit]
    )
    for account in dropped:
        account.band_then_label, account.band_now_label = Band(account.band_then).label, Band(account.band_now).label
    return dropped


def drivers_without_usage(user, day: date, *, limit: int = 20) -> list:
    """Say vs do for a book: stated drivers of the user's active accounts whose feature had no
    events in the 90 days up to `day` (one query; the usage sum is an indexed subquery per driver)."""
    return list(
        StatedDriver.objects.filter(account__in=Account.objects.active_on(day).in_book_of(user).values("pk"))
        .annotate(events_90d=driver_events_90d(day))
        .filter(events_90d=0)
        .select_related("account", "feature")
        .order_by("-account__arr", "account__name", "feature__name")[:limit]
    )


def leader_summary(day: date | None) -> dict:
    """The home of leaders and admins: the revenue overview plus the risk list's totals."""
    overview = revenue_overview(day)
    risk = risk_summary(risk_accounts(day)) if day else None
    return {**overview, "top_verticals": overview["verticals"][:5], "risk": risk}
