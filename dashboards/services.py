"""Writes of the dashboards app: the rollups (VerticalDay, RevenueDay) of a day's results, and
rollups_backfill, the one command-level way to fill every rollup (SegmentDay included) for the
days that have results."""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Aggregate, Count, F, FloatField, Q, Sum

from accounts.models import Account, AccountUseCase
from core.db import ids_in
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
                compared_on=compared_on,
                accounts=len(accounts),
                arr=sum((a.arr for a in accounts), Decimal(0)),
                top=[a.account_id for a in accounts[:STUCK_LIMIT]],
            )
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
        scores.filter(score__isnull=False)
        .values("account__vertical_id", "as_of", "score", "band")
        .annotate(n=Count("id"))
        .order_by("score", "band")
    ):
        key = (r["account__vertical_id"], r["as_of"])
        histograms.setdefault(key, []).append(HistogramBin(score=r["score"], band=r["band"], accounts=r["n"]))
    use_cases: dict[tuple[int, date], dict[int, UseCaseCounts]] = {}
    for r in (
        # One filter() call: the conditions must hold for the same HealthScore row (one join).
        AccountUseCase.objects.filter(
            Q(account__churned_on__isnull=True) | Q(account__churned_on__gt=F("account__health_scores__as_of")),
            account__health_scores__as_of__range=(start, end),
            account__health_scores__band__in=[b for b in Band.values if b not in NOT_CUSTOMER_BANDS],
        )
        .values("account__vertical_id", "account__health_scores__as_of", "use_case_id", "account__health_scores__band")
        .annotate(n=Count("id"), arr=Sum("account__arr"))
        .order_by()
    ):
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
        .annotate(n=Count("id"))
        .order_by()
    ):
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
            )
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


# --- Incremental runs: the rollups brought up to date by the difference of a few accounts --------


@dataclass
class VerticalParts:
    """A set of accounts' share of one vertical's VerticalDay: every figure the row stores, in a
    form that adds and subtracts (the median follows from the histogram, the stuck top from the
    accounts). `stuck` maps each stuck account to its (ARR, name) for the top's order."""

    counts: Counter = field(default_factory=Counter)  # accounts and each band's count
    arr: Decimal = Decimal(0)
    arr_at_risk: Decimal = Decimal(0)
    histogram: Counter = field(default_factory=Counter)  # (score, band) → accounts
    use_cases: dict = field(default_factory=dict)  # use case id → Counter(healthy, at_risk, accounts), arr
    journey_stages: dict = field(default_factory=dict)  # primary use case id → Counter(stage id → n)
    stuck: dict = field(default_factory=dict)  # account id → (ARR, name)


def vertical_parts(*, day: date, account_ids: list[int]) -> dict[int, VerticalParts]:
    """{vertical id: VerticalParts} of `account_ids` on `day`: what those accounts add to each
    vertical's VerticalDay, under the conditions of vertical_days_rollup (customers on the day,
    churned left out), read from their own rows by indexed queries (four, whatever the day's
    size). The incremental run takes it before and after it re-scores them."""
    parts: dict[int, VerticalParts] = {}
    active = Q(account__churned_on__isnull=True) | Q(account__churned_on__gt=day)
    scores = (
        HealthScore.objects.filter(as_of=day, account_id__in=ids_in(account_ids))
        .exclude(band__in=NOT_CUSTOMER_BANDS)
        .filter(active)
        .values_list("account_id", "account__vertical_id", "score", "band", "account__arr")
    )
    scored: dict[int, tuple[int, str, Decimal]] = {}
    for account_id, vertical_id, score, band, arr in scores:
        arr = arr or Decimal(0)
        p = parts.setdefault(vertical_id, VerticalParts())
        p.counts["accounts"] += 1
        p.counts[band] += 1
        p.arr += arr
        if band == Band.AT_RISK:
            p.arr_at_risk += arr
        if score is not None:
            p.histogram[(score, band)] += 1
        scored[account_id] = (vertical_id, band, arr)
    for account_id, use_case_id in AccountUseCase.objects.filter(account_id__in=ids_in(scored)).values_list(
        "account_id", "use_case_id"
    ):
        vertical_id, band, arr = scored[account_id]
        counts, total = parts[vertical_id].use_cases.get(use_case_id, (Counter(), Decimal(0)))
        counts["accounts"] += 1
        if band in (Band.HEALTHY, Band.AT_RISK):
            counts[band] += 1
        parts[vertical_id].use_cases[use_case_id] = (counts, total + arr)
    journeys = AccountMetrics.objects.filter(
        active, as_of=day, account_id__in=ids_in(account_ids), account__primary_use_case__isnull=False
    ).values_list("account__vertical_id", "account__primary_use_case_id", "journey_stage_id")
    for vertical_id, use_case_id, stage_id in journeys:
        stages = parts.setdefault(vertical_id, VerticalParts()).journey_stages.setdefault(use_case_id, Counter())
        stages[stage_id] += 1
    stuck, _ = stuck_metrics(day)
    for vertical_id, account_id, name, arr in stuck.filter(account_id__in=ids_in(account_ids)).values_list(
        "account__vertical_id", "account_id", "account__name", "account__arr"
    ):
        parts.setdefault(vertical_id, VerticalParts()).stuck[account_id] = (arr, name)
    return parts


def _median(histogram: Counter) -> float | None:
    """percentile_cont(0.5) of the scores the histogram counts (what the full rollup stores)."""
    n = sum(histogram.values())
    if n <= 0:
        return None
    by_score = Counter()
    for (score, _band), k in histogram.items():
        by_score[score] += k
    wanted = {(n - 1) // 2, n // 2}  # the middle one, or the middle two
    found, seen = {}, 0
    for score in sorted(by_score):
        for position in wanted:
            if seen <= position < seen + by_score[score]:
                found[position] = score
        seen += by_score[score]
    low, high = found[(n - 1) // 2], found[n // 2]
    return float(low + (high - low) * 0.5)


@transaction.atomic
def vertical_days_adjust(*, day: date, account_ids: list[int], before: dict, after: dict) -> bool:
    """Brings `day`'s VerticalDay rows from `before` to `after` (vertical_parts of `account_ids`
    before and after they were re-scored; their account fields — vertical, ARR, churn, use cases —
    unchanged in between): each figure plus the difference, the median from the new histogram,
    the stuck top merged from the untouched accounts of the old top and the touched ones now
    stuck. That is what vertical_days_rollup writes. A vertical whose old top may have lost an
    account that only a pass over the vertical can replace gets that pass (its stuck accounts).
    False (nothing written) when a vertical gains its first scored account: the caller rewrites
    the day instead (that row's journey and stuck figures of other accounts are nowhere stored)."""
    rows = {r.vertical_id: r for r in VerticalDay.objects.select_for_update().filter(day=day)}
    if any(v not in rows and p.counts["accounts"] > 0 for parts in (before, after) for v, p in parts.items()):
        return False
    rows = {v: row for v, row in rows.items() if v in before or v in after}  # the others are as they were
    touched = set(account_ids)
    old_top_ids = {pk for r in rows.values() for pk in StuckSummary.from_json(r.stuck).top} - touched
    old_top = {
        pk: (arr, name) for pk, arr, name in Account.objects.filter(pk__in=old_top_ids).values_list("pk", "arr", "name")
    }
    gone: list[int] = []
    for vertical_id, row in rows.items():
        was, now = before.get(vertical_id, VerticalParts()), after.get(vertical_id, VerticalParts())
        counts = Counter({k: getattr(row, k) for k in ("accounts", "healthy", "neutral", "at_risk", "unknown")})
        counts.update(now.counts)
        counts.subtract(was.counts)
        if counts["accounts"] <= 0:
            gone.append(vertical_id)
            continue
        for k in ("accounts", "healthy", "neutral", "at_risk", "unknown"):
            setattr(row, k, counts[k])
        row.arr += now.arr - was.arr
        row.arr_at_risk += now.arr_at_risk - was.arr_at_risk
        histogram = Counter({(b.score, b.band): b.accounts for b in map(HistogramBin.from_json, row.histogram)})
        histogram.update(now.histogram)
        histogram.subtract(was.histogram)
        histogram = +histogram  # bins left empty go, as in a full rollup
        row.histogram = [HistogramBin(score=s, band=b, accounts=n).to_json() for (s, b), n in sorted(histogram.items())]
        row.median_score = _median(histogram)
        row.use_cases = _use_cases_adjusted(row.use_cases, was.use_cases, now.use_cases)
        row.journey_stages = _journey_stages_adjusted(row.journey_stages, was.journey_stages, now.journey_stages)
        row.stuck = _stuck_adjusted(day, vertical_id, StuckSummary.from_json(row.stuck), was, now, old_top).to_json()
        row.save()
    VerticalDay.objects.filter(day=day, vertical_id__in=gone).delete()
    return True


def _use_cases_adjusted(stored: dict, was: dict, now: dict) -> dict:
    by_use_case = VerticalUseCaseCounts.from_json(stored).by_use_case
    for sign, parts in ((-1, was), (1, now)):
        for use_case_id, (counts, arr) in parts.items():
            c = by_use_case.get(use_case_id, UseCaseCounts())
            by_use_case[use_case_id] = UseCaseCounts(
                healthy=c.healthy + sign * counts[Band.HEALTHY],
                at_risk=c.at_risk + sign * counts[Band.AT_RISK],
                accounts=c.accounts + sign * counts["accounts"],
                arr=c.arr + sign * arr,
            )
    return VerticalUseCaseCounts({pk: c for pk, c in by_use_case.items() if c.accounts > 0}).to_json()


def _journey_stages_adjusted(stored: dict, was: dict, now: dict) -> dict:
    by_use_case = {pk: Counter(stages) for pk, stages in JourneyStageCounts.from_json(stored).by_use_case.items()}
    for use_case_id, stages in now.items():
        by_use_case.setdefault(use_case_id, Counter()).update(stages)
    for use_case_id, stages in was.items():
        by_use_case.setdefault(use_case_id, Counter()).subtract(stages)
    kept = {pk: {stage: n for stage, n in stages.items() if n > 0} for pk, stages in by_use_case.items()}
    return JourneyStageCounts({pk: stages for pk, stages in kept.items() if stages}).to_json()


def _stuck_adjusted(
    day: date, vertical_id: int, stored: StuckSummary, was: VerticalParts, now: VerticalParts, old_top: dict
) -> StuckSummary:
    count = stored.accounts - len(was.stuck) + len(now.stuck)
    arr = (
        stored.arr
        - sum((a for a, _ in was.stuck.values()), Decimal(0))
        + sum((a for a, _ in now.stuck.values()), Decimal(0))
    )
    kept = {pk: old_top[pk] for pk in stored.top if pk in old_top}  # the old top's untouched accounts
    untouched = stored.accounts - len(was.stuck)
    candidates = {**kept, **now.stuck}
    if len(kept) < min(untouched, STUCK_LIMIT):
        # A touched account left the top and untouched stuck accounts below it may now belong
        # there: only the vertical's stuck accounts tell which.
        stuck, _ = stuck_metrics(day)
        rows = stuck.filter(account__vertical_id=vertical_id).values_list("account_id", "account__arr", "account__name")
        candidates = {pk: (a, name) for pk, a, name in rows}
    order = sorted(candidates, key=lambda pk: (-candidates[pk][0], candidates[pk][1], pk))  # the page's order
    return StuckSummary(compared_on=stored.compared_on, accounts=count, arr=arr, top=order[:STUCK_LIMIT])
