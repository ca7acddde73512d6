"""Scorecards applied to metrics (SPEC §5.2), in exact arithmetic.

Measure scores and the weighted mean are Fractions, so "rounded to the nearest integer, halves up"
is exact: no float error can push 84.4999… below or 2.675 above a half.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from health.models import Band, Scorecard

# Metrics with whole-number values: their lift values are whole numbers too.
FRACTIONAL_METRICS = {"seat_utilization_30d", "journey_progress"}


@dataclass(frozen=True)
class MeasurePlan:
    metric: str
    weight: Fraction
    red: Fraction
    green: Fraction

    def __post_init__(self):
        # Floats for the fast path; the Fractions decide whenever a float could be wrong.
        object.__setattr__(self, "weight_f", float(self.weight))
        object.__setattr__(self, "red_f", float(self.red))
        object.__setattr__(self, "span_f", float(self.green - self.red))


@dataclass(frozen=True)
class ScorecardPlan:
    id: int
    name: str
    vertical_id: int | None
    use_case_id: int | None
    healthy_at: int
    at_risk_below: int
    measures: tuple[MeasurePlan, ...]


def _frac(value) -> Fraction:
    return Fraction(Decimal(str(value)))


def load_scorecards() -> dict[tuple[int | None, int | None], ScorecardPlan]:
    """Active scorecards by scope (vertical id, use case id); None means "any"."""
    plans: dict = {}
    for sc in Scorecard.objects.filter(active=True).prefetch_related("measures").order_by("name"):
        scope = (sc.vertical_id, sc.use_case_id)
        if scope in plans:
            continue  # validation forbids two active scorecards per scope; first by name wins
        plans[scope] = scorecard_plan(
            id=sc.pk,
            name=sc.name,
            vertical_id=sc.vertical_id,
            use_case_id=sc.use_case_id,
            healthy_at=sc.healthy_at,
            at_risk_below=sc.at_risk_below,
            measures=[(m.metric, m.weight, m.red, m.green) for m in sc.measures.all()],
        )
    return plans


def scorecard_plan(
    *,
    id: int,
    name: str,
    vertical_id: int | None,
    use_case_id: int | None,
    healthy_at: int,
    at_risk_below: int,
    measures: list[tuple],
) -> ScorecardPlan:
    """A plan from plain values; `measures` are (metric, weight, red, green), numbers of any kind."""
    return ScorecardPlan(
        id,
        name,
        vertical_id,
        use_case_id,
        healthy_at,
        at_risk_below,
        tuple(MeasurePlan(metric, _frac(weight), _frac(red), _frac(green)) for metric, weight, red, green in measures),
    )


def select_scorecard(plans: dict, vertical_id: int, use_case_id: int | None) -> ScorecardPlan | None:
    """The first active scorecard of (vertical, use case), (vertical, any), (any, use case), (any, any)."""
    for scope in ((vertical_id, use_case_id), (vertical_id, None), (None, use_case_id), (None, None)):
        plan = plans.get(scope)
        if plan is not None:
            return plan
    return None


def measure_score(value, red: Fraction, green: Fraction) -> Fraction:
    """clamp((value − red) / (green − red), 0, 1) × 100."""
    ratio = (Fraction(value) - red) / (green - red)
    return min(max(ratio, Fraction(0)), Fraction(1)) * 100


def round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def band_for(score: int | None, plan: ScorecardPlan) -> str:
    if score is None:
        return Band.UNKNOWN
    if score >= plan.healthy_at:
        return Band.HEALTHY
    if score < plan.at_risk_below:
        return Band.AT_RISK
    return Band.NEUTRAL


@dataclass
class HealthResult:
    score: int | None
    band: str
    scorecard_id: int | None
    measures: list[dict]


def _num(x) -> float | int | None:
    if x is None:
        return None
    if isinstance(x, int):
        return x
    value = float(x)
    return int(value) if value.is_integer() else round(value, 2)


def score_account(metrics: dict, plan: ScorecardPlan | None) -> HealthResult:
    """Score, band and the per-measure explanation of one account under one scorecard.

    Floats are exact enough except within a hair of a half, where rounding could flip: there the
    weighted mean is recomputed in Fractions. Lift values are always computed exactly.
    """
    if plan is None:
        return HealthResult(None, Band.UNKNOWN, None, [])
    valued = []
    for m in plan.measures:
        value = metrics.get(m.metric)
        if value is not None:
            ratio = (float(value) - m.red_f) / m.span_f
            valued.append((m, value, 0.0 if ratio < 0 else 100.0 if ratio > 1 else ratio * 100))
    if not valued:
        explanation = [
            {
                "metric": m.metric,
                "value": None,
                "score": None,
                "weight": _num(m.weight),
                "points_lost": None,
                "lift_value": None,
            }
            for m in plan.measures
        ]
        return HealthResult(None, Band.UNKNOWN, plan.id, explanation)
    total_weight = sum(m.weight_f for m, _, _ in valued)
    mean = sum(m.weight_f * s for m, _, s in valued) / total_weight
    if abs(mean - math.floor(mean) - 0.5) < 1e-6:
        score = round_half_up(_exact_mean(valued))
    else:
        score = math.floor(mean + 0.5)
    band = band_for(score, plan)
    target = {Band.AT_RISK: plan.at_risk_below, Band.NEUTRAL: plan.healthy_at}.get(band)
    if target is not None:
        exact_scores = {id(m): measure_score(v, m.red, m.green) for m, v, _ in valued}
        exact_weight = sum((m.weight for m, _, _ in valued), Fraction(0))
        weighted = sum((m.weight * exact_scores[id(m)] for m, _, _ in valued), Fraction(0))
    by_metric = {id(m): (v, s) for m, v, s in valued}
    explanation = []
    for m in plan.measures:
        if id(m) not in by_metric:
            explanation.append(
                {
                    "metric": m.metric,
                    "value": None,
                    "score": None,
                    "weight": _num(m.weight),
                    "points_lost": None,
                    "lift_value": None,
                }
            )
            continue
        value, s = by_metric[id(m)]
        lift = _lift_value(m, exact_scores[id(m)], weighted, exact_weight, target) if target is not None else None
        explanation.append(
            {
                "metric": m.metric,
                "value": _num(value),
                "score": _num(s),
                "weight": _num(m.weight),
                "points_lost": _num(m.weight_f / total_weight * (100 - s)),
                "lift_value": lift,
            }
        )
    return HealthResult(score, band, plan.id, explanation)


def _exact_mean(valued) -> Fraction:
    weights = sum((m.weight for m, _, _ in valued), Fraction(0))
    return sum((m.weight * measure_score(v, m.red, m.green) for m, v, _ in valued), Fraction(0)) / weights


def _lift_value(m: MeasurePlan, current: Fraction, weighted: Fraction, total_weight: Fraction, target: int):
    """The value of this metric that lifts the account's rounded score to `target`, others unchanged.

    None when even a perfect value of this metric is not enough.
    """
    # round_half_up(x) ≥ target  ⇔  x ≥ target − ½
    needed_score = ((target - Fraction(1, 2)) * total_weight - (weighted - m.weight * current)) / m.weight
    if needed_score > 100:
        return None
    needed_score = max(needed_score, Fraction(0))
    value = m.red + needed_score / 100 * (m.green - m.red)
    better_is_higher = m.green > m.red
    if m.metric in FRACTIONAL_METRICS:
        scaled = value * 10
        value = Fraction(math.ceil(scaled) if better_is_higher else math.floor(scaled), 10)
    else:
        value = Fraction(math.ceil(value) if better_is_higher else math.floor(value))
    return _num(value)


def tier_for(arr: Decimal, tiers: list[tuple[Decimal, int]]) -> int | None:
    """The tier with the highest min_arr ≤ ARR; `tiers` sorted by min_arr descending."""
    for min_arr, tier_id in tiers:
        if min_arr <= arr:
            return tier_id
    return None


class Scorer:
    """Scores many accounts under the active scorecards: the scorecard of each (vertical, use case)
    is selected once, not per account. `score` returns (score, band, scorecard id, measures).

    A result depends on nothing but the scorecard and the values of its measures' metrics, and
    accounts share those far more often than not (whole-number metrics over small ranges): each
    distinct (scorecard, values) is scored once, exactly as `score_account` scores it, and the
    result (its `measures` list included, which callers only read) is reused. The cache holds at
    most CACHE_SIZE results; when full it starts over, so memory stays bounded.
    """

    CACHE_SIZE = 100_000

    def __init__(self, plans: dict):
        self.plans = plans
        self._selected: dict[tuple, ScorecardPlan | None] = {}
        self._results: dict[tuple, tuple] = {}

    def plan_for(self, vertical_id: int, use_case_id: int | None) -> ScorecardPlan | None:
        key = (vertical_id, use_case_id)
        if key not in self._selected:
            self._selected[key] = select_scorecard(self.plans, vertical_id, use_case_id)
        return self._selected[key]

    def score(self, metrics: dict, vertical_id: int, use_case_id: int | None) -> tuple:
        plan = self.plan_for(vertical_id, use_case_id)
        if plan is None:
            return None, Band.UNKNOWN, None, []
        key = (plan.id, *(metrics.get(m.metric) for m in plan.measures))
        result = self._results.get(key)
        if result is None:
            if len(self._results) >= self.CACHE_SIZE:
                self._results.clear()
            r = score_account(metrics, plan)
            result = self._results[key] = (r.score, r.band, r.scorecard_id, r.measures)
        return result
