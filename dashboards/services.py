"""Writes of the dashboards app: the rollups (VerticalDay, RevenueDay) of a day's results, and
rollups_backfill, the one command-level way to fill every rollup (SegmentDay included) for the
days that have results."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Aggregate, Count, F, FloatField, Q, Sum

from accounts.models import AccountUseCase
from dashboards import selectors
from dashboards.journeys import STUCK_LIMIT, stuck_compared_on, stuck_metrics
from dashboards.models import RevenueDay, VerticalDay
from dashboards.rollups import HistogramBin, JourneyStageCounts, StuckSummary, UseCaseCounts, VerticalUseCaseCounts
from health.models import NOT_CUSTOMER_BANDS, AccountMetrics, Band, HealthScore
from segments.models import SegmentDay
from segments.services import segment_days_write


class _Median(Aggregate):
    """PostgreSQL's exact median (NULL scores are ignored, as percentile_cont does)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _sqlite_medians(start: date, end: date) -> dict[tuple[int, date], float]:
    # SQLite has no percentile aggregate; the embedded demo is small enough to take the median here.
    scores: dict[tuple[int, date], list[int]] = {}
    rows = (
        HealthScore.objects.filter(as_of__range=(start, end), score__isnull=False)
        .exclude(band__in=NOT_CUSTOMER_BANDS)
        .filter(Q(account__churned_on__isnull=True) | Q(account__churned_on__gt=F("as_of")))
        .values_list("account__vertical_id", "as_of", "score")
    )
    for vertical_id, day, score in rows.iterator(chunk_size=10_000):
        scores.setdefault((vertical_id, day), []).append(score)
    return {key: float(median(values)) for key, values in scores.items()}


class _StuckAccount(NamedTuple):
    vertical_id: int
    account_id: int
    name: str
    arr: Decimal


def _stuck_by_vertical(start: date, end: date) -> dict[tuple[int, date], StuckSummary]:
    """Per (vertical, day with metrics): the stuck accounts of dashboards.journeys.stuck_metrics
    (count, ARR, comparison day, the STUCK_LIMIT largest by ARR)."""
    out: dict[tuple[int, date], StuckSummary] = {}
    days = AccountMetrics.objects.filter(as_of__range=(start, end)).values_list("as_of", flat=True).distinct()
    for day in sorted(days):
        stuck, compared_on = stuck_metrics(day)
        rows = stuck.values_list("account__vertical_id", "account_id", "account__name", "account__arr")
        by_vertical: dict[int, list[_StuckAccount]] = {}
        for row in rows.iterator(chunk_size=10_000):
            account = _StuckAccount(*row)
            by_vertical.setdefault(account.vertical_id, []).append(account)
        for vertical_id, accounts in by_vertical.items():
            accounts.sort(key=lambda a: (-a.arr, a.name, a.account_id))  # the page's order: largest ARR first
            out[(vertical_id, day)] = StuckSummary(
                compared_on=compared_on, accounts=len(accounts), arr=sum((a.arr for a in accounts), Decimal(0)),
                top=[a.account_id for a in accounts[:STUCK_LIMIT]],
            )  # fmt: skip
        # A vertical with no stuck account that day still says so (and is read from the rollup).
        with_metrics = (
            AccountMetrics.objects.filter(as_of=day).values_list("account__vertical_id", flat=True).distinct()
        )
        for vertical_id in set(with_metrics) - set(by_vertical):
            out[(vertical_id, day)] = StuckSummary(compared_on=compared_on, accounts=0, arr=Decimal(0), top=[])
    return out


@transaction.atomic
def vertical_days_rollup(*, start: date, end: date | None = None) -> int:
    """(Re)writes VerticalDay for every date from `start` to `end` (default `start`) that has
    HealthScore rows; rows of those dates are replaced, so a re-run leaves the same state."""
    end = end or start
    # Churned accounts are left out by band and, should a score predate the churn being recorded, by date.
    active = Q(account__churned_on__isnull=True) | Q(account__churned_on__gt=F("as_of"))
    scores = HealthScore.objects.filter(as_of__range=(start, end)).exclude(band__in=NOT_CUSTOMER_BANDS).filter(active)
    aggregates = {
        "accounts": Count("id"),
        "arr": Sum("account__arr"),
        "arr_at_risk": Sum("account__arr", filter=Q(band=Band.AT_RISK)),
        **{band: Count("id", filter=Q(band=band)) for band in ("healthy", "neutral", "at_risk", "unknown")},
    }
    postgres = connection.vendor == "postgresql"
    if postgres:
        aggregates["median_score"] = _Median("score")
    rows = list(scores.values("account__vertical_id", "as_of").annotate(**aggregates).order_by())
    medians = {} if postgres else _sqlite_medians(start, end)
    histograms: dict[tuple[int, date], list[HistogramBin]] = {}
    for r in (
        scores.filter(score__isnull=False).values("account__vertical_id", "as_of", "score", "band")
        .annotate(n=Count("id")).order_by("score", "band")
    ):  # fmt: skip
        key = (r["account__vertical_id"], r["as_of"])
        histograms.setdefault(key, []).append(HistogramBin(score=r["score"], band=r["band"], accounts=r["n"]))
    use_cases: dict[tuple[int, date], dict[int, UseCaseCounts]] = {}
    for r in (
        # One filter() call: the conditions must hold for the same HealthScore row (one join).
        AccountUseCase.objects.filter(Q(account__churned_on__isnull=True)
                                      | Q(account__churned_on__gt=F("account__health_scores__as_of")),
                                      account__health_scores__as_of__range=(start, end),
                                      account__health_scores__band__in=[b for b in Band.values if b not in NOT_CUSTOMER_BANDS])
        .values("account__vertical_id", "account__health_scores__as_of", "use_case_id", "account__health_scores__band")
        .annotate(n=Count("id"), arr=Sum("account__arr")).order_by()
    ):  # fmt: skip
        by_use_case = use_cases.setdefault((r["account__vertical_id"], r["account__health_scores__as_of"]), {})
        counts = by_use_case.get(r["use_case_id"], UseCaseCounts())
        band = r["account__health_scores__band"]
        by_use_case[r["use_case_id"]] = replace(
            counts,
            healthy=r["n"] if band == Band.HEALTHY else counts.healthy,
            at_risk=r["n"] if band == Band.AT_RISK else counts.at_risk,
            # Every scored account running it, whatever its band, and their ARR (cross-pollination's "missing").
            accounts=counts.accounts + r["n"],
            arr=counts.arr + (r["arr"] or 0),
        )
    journey_stages: dict[tuple[int, date], dict[int, dict[int | None, int]]] = {}
    for r in (
        AccountMetrics.objects.filter(active, as_of__range=(start, end), account__primary_use_case__isnull=False)
        .values("account__vertical_id", "as_of", "account__primary_use_case_id", "journey_stage_id")
        .annotate(n=Count("id")).order_by()
    ):  # fmt: skip
        stages = journey_stages.setdefault((r["account__vertical_id"], r["as_of"]), {})
        stages.setdefault(r["account__primary_use_case_id"], {})[r["journey_stage_id"]] = r["n"]
    stuck = _stuck_by_vertical(start, end)
    compared_on: dict[date, date | None] = {}

    def no_stuck(day: date) -> StuckSummary:  # a vertical scored that day without metrics rows
        if day not in compared_on:
            compared_on[day] = stuck_compared_on(day)
        return StuckSummary(compared_on=compared_on[day], accounts=0, arr=Decimal(0), top=[])

    VerticalDay.objects.filter(day__range=(start, end)).delete()
    VerticalDay.objects.bulk_create(
        [
            VerticalDay(
                vertical_id=r["account__vertical_id"],
                day=r["as_of"],
                accounts=r["accounts"],
                arr=r["arr"] or 0,
                healthy=r["healthy"],
                neutral=r["neutral"],
                at_risk=r["at_risk"],
                unknown=r["unknown"],
                arr_at_risk=r["arr_at_risk"] or 0,
                median_score=r["median_score"] if postgres else medians.get((r["account__vertical_id"], r["as_of"])),
                histogram=[b.to_json() for b in histograms.get((r["account__vertical_id"], r["as_of"]), [])],
                use_cases=VerticalUseCaseCounts(use_cases.get((r["account__vertical_id"], r["as_of"]), {})).to_json(),
                journey_stages=JourneyStageCounts(
                    journey_stages.get((r["account__vertical_id"], r["as_of"]), {})
                ).to_json(),
                stuck=(stuck.get((r["account__vertical_id"], r["as_of"])) or no_stuck(r["as_of"])).to_json(),
            )  # fmt: skip
            for r in rows
        ],
        batch_size=2000,
    )
    return len(rows)


def revenue_day_write(*, day: date) -> RevenueDay:
    """Stores the ARR-history figures of /revenue/ as of `day` (replaced on a re-run): what the
    selectors arr_trend, retention and pareto compute, through the rollup schema."""
    figures = {
        "trend": selectors.arr_trend(day).to_json(),
        "retention": selectors.retention(day).to_json(),
        "pareto": [p.to_json() for p in selectors.pareto(day)],
    }
    # Delete and insert rather than update_or_create: the same statements on a first run and a re-run.
    with transaction.atomic():
        RevenueDay.objects.filter(day=day).delete()
        return RevenueDay.objects.create(day=day, **figures)


def _runs(days: list[date], *, max_days: int = 31) -> list[tuple[date, date]]:
    """Sorted days as (first, last) runs of consecutive days, at most `max_days` long: one VerticalDay
    rollup statement set per run, so a year of 100,000 accounts never sits in memory at once."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1) and (day - runs[-1][0]).days < max_days:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _vertical_day_current(days) -> set[date]:
    """The days whose VerticalDay rows are all of the current schema. Rows written before the
    schema was complete (no stuck summary, use cases without their accounts/ARR) count as missing,
    so a backfill rewrites them and readers never meet an old shape."""
    stale: set[date] = set()
    present: set[date] = set()
    for day, use_cases, stuck in VerticalDay.objects.filter(day__in=days).values_list("day", "use_cases", "stuck"):
        present.add(day)
        if "top" not in stuck or any("accounts" not in c or "arr" not in c for c in use_cases.values()):
            stale.add(day)
    return present - stale


@dataclass(frozen=True)
class RollupsBackfilled:
    """What rollups_backfill wrote: the days with results considered, and per rollup the days written."""

    days: int
    vertical_days: list[date]
    revenue_days: list[date]
    segment_days: list[date]


def rollups_backfill(*, start: date | None = None, end: date | None = None, force: bool = False) -> RollupsBackfilled:
    """Writes every rollup (VerticalDay, RevenueDay, SegmentDay) of each day with results in
    [start, end] (default: all of them) that lacks it — or, with `force`, all of them again. The
    same writers as publish, so a backfilled day reads exactly as a published one; idempotent."""
    results = HealthScore.objects.order_by().values_list("as_of", flat=True).distinct()
    if start is not None:
        results = results.filter(as_of__gte=start)
    if end is not None:
        results = results.filter(as_of__lte=end)
    days = sorted(results)
    if force:
        vertical = revenue = segment = days
    else:
        vertical = sorted(set(days) - _vertical_day_current(days))
        revenue = sorted(set(days) - set(RevenueDay.objects.filter(day__in=days).values_list("day", flat=True)))
        segment = sorted(set(days) - set(SegmentDay.objects.filter(day__in=days).values_list("day", flat=True)))
    for first, last in _runs(vertical):
        vertical_days_rollup(start=first, end=last)
    for day in revenue:
        revenue_day_write(day=day)
    for day in segment:
        segment_days_write(day=day)
    return RollupsBackfilled(days=len(days), vertical_days=vertical, revenue_days=revenue, segment_days=segment)
