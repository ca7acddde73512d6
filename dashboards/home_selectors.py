"""Reads of the two home pages beyond the rollups: the leader's trend, renewals by band and
where to look first; a CSM's overdue renewals. Each is one or two queries over small tables
(the VerticalDay rollup) or one day's rows."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, FilteredRelation, Q, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Account
from dashboards.models import VerticalDay
from dashboards.rollups import RetentionFigures
from dashboards.selectors import revenue_history
from health.models import Band

RENEWAL_WINDOW_DAYS = 90
# History recomputes weekly before the last month: a "90 days ago" figure uses the newest rollup
# within a week before the date, and says which day it is.
LOOKBACK_SLACK_DAYS = 7


@dataclass
class Totals:
    day: date
    arr: Decimal
    arr_at_risk: Decimal
    at_risk: int
    accounts: int

    @property
    def share_at_risk(self) -> float:
        return float(self.arr_at_risk / self.arr * 100) if self.arr else 0.0


def _totals_by_day(days: list[date]) -> dict[date, Totals]:
    rows = (
        VerticalDay.objects.filter(day__in=days)
        .values("day")
        .annotate(arr=Sum("arr"), arr_at_risk=Sum("arr_at_risk"), at_risk=Sum("at_risk"), accounts=Sum("accounts"))
    )
    return {
        r["day"]: Totals(
            r["day"], r["arr"] or Decimal(0), r["arr_at_risk"] or Decimal(0), r["at_risk"] or 0, r["accounts"] or 0
        )
        for r in rows
    }


def leader_trend(day: date | None) -> dict:
    """ARR, ARR at risk and at-risk accounts on `day` and 30 and 90 days before (from the rollup;
    two queries). {"now": Totals, "then": {30: Totals | None, 90: Totals | None}}."""
    if day is None:
        return {"now": None, "then": {}}
    wanted = {n: day - timedelta(days=n) for n in (30, 90)}
    candidates = set(
        VerticalDay.objects.filter(
            Q(day=day)
            | Q(day__range=(wanted[90] - timedelta(days=LOOKBACK_SLACK_DAYS), wanted[90]))
            | Q(day__range=(wanted[30] - timedelta(days=LOOKBACK_SLACK_DAYS), wanted[30]))
        )
        .values_list("day", flat=True)
        .distinct()
    )
    chosen = {
        n: max((d for d in candidates if target - timedelta(days=LOOKBACK_SLACK_DAYS) <= d <= target), default=None)
        for n, target in wanted.items()
    }
    totals = _totals_by_day([d for d in [day, *chosen.values()] if d])
    return {"now": totals.get(day), "then": {n: totals.get(d) if d else None for n, d in chosen.items()}}


def renewals_by_band(day: date | None, *, days: int = RENEWAL_WINDOW_DAYS) -> dict:
    """Active accounts renewing in the next `days` days, by their band on `day`: count and ARR
    (one query), plus the overdue ones (renewal date passed, not churned)."""
    if day is None:
        return {"bands": [], "total": 0, "arr": Decimal(0), "overdue": 0, "overdue_arr": Decimal(0), "days": days}
    accounts = Account.objects.active_on(day).annotate(
        now=FilteredRelation("health_scores", condition=Q(health_scores__as_of=day))
    )
    window = Q(renewal_date__range=(day, day + timedelta(days=days)))
    overdue = Q(renewal_date__lt=day)
    rows = (
        accounts.filter(window | overdue)
        .values(band=Coalesce(F("now__band"), Value(Band.UNKNOWN)))
        .annotate(
            n=Count("pk", filter=window),
            window_arr=Coalesce(Sum("arr", filter=window), Value(Decimal(0))),
            late=Count("pk", filter=overdue),
            late_arr=Coalesce(Sum("arr", filter=overdue), Value(Decimal(0))),
        )
        .order_by()
    )
    by_band = {r["band"]: r for r in rows}
    order = (Band.AT_RISK, Band.NEUTRAL, Band.HEALTHY, Band.UNKNOWN)
    bands = [
        {"band": b, "label": Band(b).label, "accounts": by_band[b]["n"], "arr": by_band[b]["window_arr"]}
        for b in order
        if b in by_band and by_band[b]["n"]
    ]
    return {
        "bands": bands,
        "total": sum(b["accounts"] for b in bands),
        "arr": sum((b["arr"] for b in bands), Decimal(0)),
        "overdue": sum(r["late"] for r in rows),
        "overdue_arr": sum((r["late_arr"] for r in rows), Decimal(0)),
        "days": days,
    }


def look_first(verticals: list[dict], day: date | None) -> list[dict]:
    """The verticals to look at first, each with its reason: the seed's "start with your
    highest-grossing vertical", then the largest ARR at risk and the fastest-growing share at risk
    (over 30 days, from the rollup: one query) when they are other verticals."""
    if not verticals:
        return []
    total = sum((v["arr"] for v in verticals), Decimal(0)) or Decimal(1)
    picks: list[dict] = []

    def add(v: dict, reason: str) -> None:
        if all(p["slug"] != v["slug"] for p in picks):
            picks.append({"vertical": v["vertical"], "slug": v["slug"], "reason": reason})

    top = max(verticals, key=lambda v: v["arr"])
    add(
        top,
        f"your highest-grossing vertical: {_money(top['arr'])}, {float(top['arr'] / total * 100):.0f}% of ARR, "
        f"{_money(top['arr_at_risk'])} of it at risk",
    )
    risky = max(verticals, key=lambda v: v["arr_at_risk"])
    if risky["arr_at_risk"]:
        share = float(risky["arr_at_risk"] / risky["arr"] * 100) if risky["arr"] else 0
        add(risky, f"the most ARR at risk: {_money(risky['arr_at_risk'])} ({share:.0f}% of its ARR)")
    if day is not None:
        before = {
            r["vertical__slug"]: r
            for r in VerticalDay.objects.filter(day=day - timedelta(days=30)).values(
                "vertical__slug", "arr", "arr_at_risk"
            )
        }
        worst, worst_rise = None, 0.0
        for v in verticals:
            b = before.get(v["slug"])
            if not b or not b["arr"] or not v["arr"]:
                continue
            rise = float(v["arr_at_risk"] / v["arr"] * 100) - float(b["arr_at_risk"] / b["arr"] * 100)
            if rise > worst_rise:
                worst, worst_rise = (v, b), rise
        if worst is not None and worst_rise >= 1:
            v, b = worst
            add(
                v,
                f"share of ARR at risk up {worst_rise:.0f} points in 30 days "
                f"({float(b['arr_at_risk'] / b['arr'] * 100):.0f}% → {float(v['arr_at_risk'] / v['arr'] * 100):.0f}%)",
            )
    return picks


def overdue_renewals(user, day: date | None, *, limit: int = 20) -> list[Account]:
    """A CSM's active accounts whose renewal date has passed, oldest first (one query)."""
    if day is None:
        return []
    accounts = (
        Account.objects.active_on(day)
        .in_book_of(user)
        .filter(renewal_date__lt=day)
        .annotate(now=FilteredRelation("health_scores", condition=Q(health_scores__as_of=day)))
        .annotate(score_now=F("now__score"), band_now=F("now__band"))
        .select_related("vertical")
        .order_by("renewal_date", "name")[:limit]
    )
    out = list(accounts)
    for a in out:
        a.days_overdue = (day - a.renewal_date).days
    return out


def _money(value) -> str:
    return f"${round(value):,}"


def retention_total(day: date | None) -> RetentionFigures | None:
    """Net and gross revenue retention of all verticals over the year to `day`, as stored with the
    day's results (RevenueDay, one query); None without them (the page says so)."""
    history = revenue_history(day)
    return history.retention.total if history is not None else None
