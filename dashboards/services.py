"""Writes of the dashboards app: the VerticalDay rollup (SQL aggregates, a handful of statements)."""

from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Aggregate, Count, F, FloatField, Max, Min, Q, Sum

from accounts.models import AccountUseCase
from dashboards.models import RevenueDay, VerticalDay
from health.models import NOT_CUSTOMER_BANDS, AccountMetrics, Band, HealthScore
from health.selectors import results_day
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


def _stuck_by_vertical(start: date, end: date) -> dict[tuple[int, date], dict]:
    """Per (vertical, day with metrics): the stuck accounts of journeys.selectors.stuck_metrics, as
    VerticalDay.stuck stores them (count, ARR, comparison day, the STUCK_LIMIT largest by ARR)."""
    from journeys.selectors import STUCK_LIMIT, stuck_metrics

    out: dict[tuple[int, date], dict] = {}
    days = AccountMetrics.objects.filter(as_of__range=(start, end)).values_list("as_of", flat=True).distinct()
    for day in sorted(days):
        stuck, compared_on = stuck_metrics(day)
        rows = stuck.values_list("account__vertical_id", "account_id", "account__name", "account__arr")
        by_vertical: dict[int, list] = {}
        for vertical_id, account_id, name, arr in rows.iterator(chunk_size=10_000):
            by_vertical.setdefault(vertical_id, []).append((-arr, name, account_id))
        for vertical_id, accounts in by_vertical.items():
            accounts.sort()  # the page's order: largest ARR first, then name, then id
            out[(vertical_id, day)] = {
                "compared_on": compared_on.isoformat() if compared_on else None,
                "accounts": len(accounts),
                "arr": str(-sum(a[0] for a in accounts)),
                "top": [a[2] for a in accounts[:STUCK_LIMIT]],
            }
        # A vertical with no stuck account that day still says so (and is read from the rollup).
        for vertical_id in set(
            AccountMetrics.objects.filter(as_of=day).values_list("account__vertical_id", flat=True).distinct()
        ) - set(by_vertical):
            out[(vertical_id, day)] = {"compared_on": compared_on.isoformat() if compared_on else None,
                                       "accounts": 0, "arr": "0", "top": []}  # fmt: skip
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
    histograms: dict[tuple[int, date], list] = {}
    for r in (
        scores.filter(score__isnull=False).values("account__vertical_id", "as_of", "score", "band")
        .annotate(n=Count("id")).order_by("score", "band")
    ):  # fmt: skip
        histograms.setdefault((r["account__vertical_id"], r["as_of"]), []).append([r["score"], r["band"], r["n"]])
    use_cases: dict[tuple[int, date], dict] = {}
    for r in (
        # One filter() call: the conditions must hold for the same HealthScore row (one join).
        AccountUseCase.objects.filter(Q(account__churned_on__isnull=True)
                                      | Q(account__churned_on__gt=F("account__health_scores__as_of")),
                                      account__health_scores__as_of__range=(start, end),
                                      account__health_scores__band__in=[b for b in Band.values if b not in NOT_CUSTOMER_BANDS])
        .values("account__vertical_id", "account__health_scores__as_of", "use_case_id", "account__health_scores__band")
        .annotate(n=Count("id"), arr=Sum("account__arr")).order_by()
    ):  # fmt: skip
        key = (r["account__vertical_id"], r["account__health_scores__as_of"])
        counts = use_cases.setdefault(key, {}).setdefault(
            str(r["use_case_id"]), {"healthy": 0, "at_risk": 0, "accounts": 0, "arr": "0"}
        )
        if r["account__health_scores__band"] in (Band.HEALTHY, Band.AT_RISK):
            counts[r["account__health_scores__band"]] = r["n"]
        # Every scored account running it, whatever its band, and their ARR (cross-pollination's "missing").
        counts["accounts"] += r["n"]
        counts["arr"] = str(Decimal(counts["arr"]) + (r["arr"] or 0))
    journey_stages: dict[tuple[int, date], dict] = {}
    for r in (
        AccountMetrics.objects.filter(active, as_of__range=(start, end), account__primary_use_case__isnull=False)
        .values("account__vertical_id", "as_of", "account__primary_use_case_id", "journey_stage_id")
        .annotate(n=Count("id")).order_by()
    ):  # fmt: skip
        stages = journey_stages.setdefault((r["account__vertical_id"], r["as_of"]), {})
        stage = "none" if r["journey_stage_id"] is None else str(r["journey_stage_id"])
        stages.setdefault(str(r["account__primary_use_case_id"]), {})[stage] = r["n"]
    stuck = _stuck_by_vertical(start, end)
    VerticalDay.objects.filter(day__range=(start, end)).delete()
    VerticalDay.objects.bulk_create(
        [
            VerticalDay(
                vertical_id=r["account__vertical_id"], day=r["as_of"], accounts=r["accounts"], arr=r["arr"] or 0,
                healthy=r["healthy"], neutral=r["neutral"], at_risk=r["at_risk"], unknown=r["unknown"],
                arr_at_risk=r["arr_at_risk"] or 0,
                median_score=r["median_score"] if postgres else medians.get((r["account__vertical_id"], r["as_of"])),
                histogram=histograms.get((r["account__vertical_id"], r["as_of"]), []),
                use_cases=use_cases.get((r["account__vertical_id"], r["as_of"]), {}),
                journey_stages=journey_stages.get((r["account__vertical_id"], r["as_of"]), {}),
                stuck=stuck.get((r["account__vertical_id"], r["as_of"]), {}),
            )  # fmt: skip
            for r in rows
        ],
        batch_size=2000,
    )
    return len(rows)


def vertical_days_backfill(*, start: date | None = None, end: date | None = None, step_days: int = 31) -> int:
    """Rolls up every date with HealthScore history (or those in [start, end]), a month per
    statement so a year of 100,000 accounts never sits in memory at once."""
    bounds = HealthScore.objects.aggregate(first=Min("as_of"), last=Max("as_of"))
    if bounds["first"] is None:
        return 0
    first, last = max(start or bounds["first"], bounds["first"]), min(end or bounds["last"], bounds["last"])
    if first > last:
        return 0
    written = 0
    while first <= last:
        until = min(first + timedelta(days=step_days - 1), last)
        written += vertical_days_rollup(start=first, end=until)
        first = until + timedelta(days=1)
    return written


def revenue_day_write(*, day: date) -> RevenueDay:
    """Stores the ARR-history figures of /revenue/ as of `day` (replaced on a re-run)."""
    import json

    from dashboards import selectors

    def plain(value):  # dates and decimals as the JSON strings the selectors read back
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))

    figures = {
        "trend": plain(selectors.arr_trend(day)),
        "retention": plain(selectors.retention(day)),
        "pareto": plain(selectors.pareto(day)),
    }
    # Delete and insert rather than update_or_create: the same statements on a first run and a re-run.
    with transaction.atomic():
        RevenueDay.objects.filter(day=day).delete()
        return RevenueDay.objects.create(day=day, **figures)


def _backfill_day(day: date | None, *, stored, write, force: bool) -> date | None | bool:
    """Runs `write(day=…)` for `day` (default: the latest date with results) unless `stored` (that
    model's manager) already has rows for it, or always with `force`. Returns the day written,
    False when rows were already there, None when there are no results at all."""
    day = day or results_day()
    if day is None:
        return None
    if not force and stored.filter(day=day).exists():
        return False
    write(day=day)
    return day


def revenue_days_backfill(*, day: date | None = None, force: bool = False) -> date | None | bool:
    """RevenueDay for `day` or the latest results date, when missing (see _backfill_day)."""
    return _backfill_day(day, stored=RevenueDay.objects, write=revenue_day_write, force=force)


def segment_days_backfill(*, day: date | None = None, force: bool = False) -> date | None | bool:
    """SegmentDay for `day` or the latest results date, when missing (see _backfill_day)."""
    return _backfill_day(day, stored=SegmentDay.objects, write=segment_days_write, force=force)
