"""What would move a score (SPEC §5.2 arithmetic, exact): per measure, the value that lifts the
account into the next band and into *healthy* on its own — or why it cannot — and the smallest
combined plan (fewest measures changed) that reaches healthy.

Plain Python over a day's `measures` and the scorecard's definitions (red/green/weight); no queries.
"""

import math
from dataclasses import dataclass, field
from fractions import Fraction

from health.engine.scoring import FRACTIONAL_METRICS, measure_score
from health.units import NO_VALUE_REASONS, format_metric


@dataclass(frozen=True)
class Definition:
    metric: str
    weight: Fraction
    red: Fraction
    green: Fraction


@dataclass
class MeasureMove:
    metric: str
    value: float | int | None
    to_next: float | int | None = None  # value that alone reaches the next band
    to_healthy: float | int | None = None  # value that alone reaches healthy
    why_not: str = ""  # when neither is reachable by this measure alone, or nothing to do


@dataclass
class Plan:
    target: str  # "healthy"
    steps: list[dict] = field(default_factory=list)  # {metric, value, text}
    reachable: bool = True
    text: str = ""


def _frac(x) -> Fraction:
    return Fraction(str(x))


def _value_for(d: Definition, score: Fraction):
    """The value scoring `score` (0–100) on this measure, rounded towards better (whole numbers,
    one decimal for the percentage metrics)."""
    value = d.red + score / 100 * (d.green - d.red)
    scale = 10 if d.metric in FRACTIONAL_METRICS else 1
    scaled = value * scale
    value = Fraction(math.ceil(scaled) if d.green > d.red else math.floor(scaled), scale)
    return int(value) if value.denominator == 1 else float(value)


def moves(
    measures: list[dict], definitions: dict[str, Definition], *, score: int | None, healthy_at: int, at_risk_below: int
) -> tuple[list[MeasureMove], Plan | None]:
    """Per measure what would move it, and the combined plan to healthy (None when already healthy
    or not scored)."""
    valued = [
        (m, definitions[m["metric"]]) for m in measures if m.get("value") is not None and m["metric"] in definitions
    ]
    total = sum((d.weight for _, d in valued), Fraction(0))
    current = {m["metric"]: measure_score(_frac(m["value"]), d.red, d.green) for m, d in valued}
    weighted = sum((d.weight * current[d.metric] for _, d in valued), Fraction(0))
    band_next = at_risk_below if score is not None and score < at_risk_below else healthy_at
    out = []
    for m in measures:
        move = MeasureMove(metric=m["metric"], value=m.get("value"))
        d = definitions.get(m["metric"])
        if m.get("value") is None:
            reason = NO_VALUE_REASONS.get(m["metric"], "no value on this day")
            move.why_not = f"no value ({reason}): it does not count towards the score"
        elif d is None:
            # Scored with a measure the scorecard no longer has: the value stored with the result.
            if m.get("lift_value") is not None:
                move.to_next = m["lift_value"]
            else:
                move.why_not = "no longer in the scorecard"
        elif score is not None and score >= healthy_at:
            move.why_not = "already healthy"
        elif current[d.metric] >= 100:
            move.why_not = "already at full points"
        else:
            for target, attr in ((band_next, "to_next"), (healthy_at, "to_healthy")):
                # round_half_up(mean) ≥ target  ⇔  mean ≥ target − ½
                needed = ((target - Fraction(1, 2)) * total - (weighted - d.weight * current[d.metric])) / d.weight
                if needed <= 100:
                    setattr(move, attr, _value_for(d, max(needed, Fraction(0))))
            if move.to_next is None:
                gain = d.weight * (100 - current[d.metric]) / total
                need = band_next - Fraction(1, 2) - weighted / total
                move.why_not = f"can't lift it alone: at most {float(gain):.0f} more points, {math.ceil(need)} needed"
            elif move.to_healthy is None and band_next != healthy_at:
                move.why_not = "reaches the next band, not healthy, on its own"
        out.append(move)
    if score is None or score >= healthy_at or not valued:
        return out, None
    return out, _plan(valued, current, weighted, total, healthy_at)


def _plan(valued, current, weighted, total, healthy_at) -> Plan:
    """Fewest measures to reach healthy: the measures with the most points to gain first, each at
    full points, the last one only as far as needed."""
    missing = (healthy_at - Fraction(1, 2)) * total - weighted  # weighted points still needed
    plan = Plan(target="healthy")
    candidates = sorted(valued, key=lambda md: -(md[1].weight * (100 - current[md[1].metric])))
    for _, d in candidates:
        if missing <= 0:
            break
        room = d.weight * (100 - current[d.metric])
        if room <= 0:
            continue
        take = min(room, missing)
        value = _value_for(d, current[d.metric] + take / d.weight)
        plan.steps.append({"metric": d.metric, "value": value})
        missing -= take
    if missing > 0:
        plan.reachable = False
        plan.text = "Even every measure at full points does not reach healthy (a measure without a value can't count)."
    return plan


def describe(metric: str, value) -> str:
    return format_metric(metric, value)
