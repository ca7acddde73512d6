"""Why an account's score changed: per measure, the points gained or lost between two daily results.

Plain Python over the `measures` JSON the engine keeps on every HealthScore (no queries), so the
account page, the API or a report can say "−12: active days (90d) fell from 14 to 6".
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date


@dataclass
class ScoreChange:
    days: int
    then_day: date
    missing: bool = False  # no result on that day
    scorecard_changed: str = ""  # a sentence when the two results were scored differently
    score_then: int | None = None
    score_now: int | None = None
    lines: list[dict] = field(default_factory=list)  # {metric, points, whole, text}
    # Where the rest of the difference went: measures that moved less than a point each, rounding.
    rest: list[dict] = field(default_factory=list)  # {metric: None, points, whole, text}

    @property
    def score_delta(self) -> int | None:
        if self.score_then is None or self.score_now is None:
            return None
        return self.score_now - self.score_then

    @property
    def score_delta_text(self) -> str:
        return "" if self.score_delta is None else signed(self.score_delta)

    @property
    def accounted(self) -> int | None:
        """The sum of the whole points the page lists (lines and rest): equal to score_delta
        whenever both scores exist and the scorecard is the same."""
        if any(line["whole"] is None for line in self.lines):
            return None
        return sum(line["whole"] for line in [*self.lines, *self.rest])


def points_earned(measures: list[dict]) -> dict[str, float]:
    """Each valued measure's share of the account score: weight × score / total weight of valued ones."""
    valued = [m for m in measures if m.get("value") is not None and m.get("score") is not None]
    total = sum(float(m["weight"]) for m in valued)
    if not total:
        return {}
    return {m["metric"]: float(m["weight"]) * float(m["score"]) / total for m in valued}


def signed(points: float) -> str:
    rounded = round(points)
    if rounded == 0:
        return "±0"
    return f"+{rounded}" if rounded > 0 else f"−{-rounded}"


def _fmt(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return str(int(value)) if isinstance(value, float) else str(value)


def _lower_first(text: str) -> str:
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _movement(label: str, then, now, fmt: Callable[[object], str] = _fmt) -> str:
    if then is None and now is None:
        return f"{label} has no value"
    if then is None:
        return f"{label} now has a value: {fmt(now)}"
    if now is None:
        return f"{label} has no value any more (was {fmt(then)}), so it no longer counts"
    if now == then:
        return f"{label} stayed at {fmt(now)}"
    return f"{label} {'rose' if now > then else 'fell'} from {fmt(then)} to {fmt(now)}"


def score_change(
    now,
    then,
    *,
    days: int,
    then_day: date,
    label: Callable[[str], str],
    scorecard_name: Callable[[int | None], str],
    fmt: Callable[[str, object], str] | None = None,
) -> ScoreChange:
    """Compare the latest result `now` with `then` (a HealthScore or None), measure by measure.

    Measures whose value and points did not move are left out; the biggest movers come first.
    The listed whole points add up to the score difference: what measures moving less than a point
    each and rounding (of each line and of both scores) account for is listed in `rest`.
    `fmt(metric, value)` formats values with their units (default: the bare number).
    """

    def value_fmt(metric):
        return (lambda v: fmt(metric, v)) if fmt else _fmt

    change = ScoreChange(days=days, then_day=then_day, score_now=now.score)
    if then is None:
        change.missing = True
        return change
    change.score_then = then.score
    if then.scorecard_id != now.scorecard_id:
        change.scorecard_changed = (
            f"Scored with “{scorecard_name(then.scorecard_id)}” {days} days ago and with "
            f"“{scorecard_name(now.scorecard_id)}” now: the points are not comparable measure by measure."
        )
    earned_now, earned_then = points_earned(now.measures), points_earned(then.measures)
    values_then = {m["metric"]: m.get("value") for m in then.measures}
    lines, small = [], []
    reweighted = any((values_then.get(m["metric"]) is None) != (m.get("value") is None) for m in now.measures)
    for m in now.measures:
        metric = m["metric"]
        value_then, value_now = values_then.get(metric), m.get("value")
        points = earned_now.get(metric, 0.0) - earned_then.get(metric, 0.0)
        # A value that moved without costing or earning a point (already at full score, or at
        # zero) is noise next to the measures that moved the score.
        gained_or_lost = (value_then is None) != (value_now is None)
        if round(points) == 0 and not gained_or_lost and (value_then == value_now or not change.scorecard_changed):
            if points:
                small.append((metric, points))
            continue
        text = _movement(_lower_first(label(metric)), value_then, value_now, value_fmt(metric))
        if value_then == value_now and value_now is not None and reweighted:
            text += " (it weighs more or less now that another measure gained or lost its value)"
        if change.scorecard_changed:
            lines.append({"metric": metric, "points": None, "whole": None, "text": text})
        else:
            lines.append(
                {"metric": metric, "points": points, "whole": round(points), "text": f"{signed(points)}: {text}"}
            )
    if not change.scorecard_changed:
        # Same scorecard, edited since: a measure it no longer has took its points with it.
        kept = {m["metric"] for m in now.measures}
        for m in then.measures:
            points = -earned_then.get(m["metric"], 0.0)
            if m["metric"] not in kept and points:
                text = f"{_lower_first(label(m['metric']))} was taken out of the scorecard"
                lines.append(
                    {
                        "metric": m["metric"],
                        "points": points,
                        "whole": round(points),
                        "text": f"{signed(points)}: {text}",
                    }
                )
    change.lines = sorted(lines, key=lambda line: -abs(line["points"] or 0))
    if change.score_delta is not None and not change.scorecard_changed:
        change.rest = _rest(change.score_delta - sum(line["whole"] for line in lines), small, label)
    return change


def _rest(rest: int, small: list[tuple[str, float]], label) -> list[dict]:
    """The lines that close the gap between the listed points and the score difference."""
    if rest == 0:
        return []
    out = []
    small_whole = round(sum(points for _, points in small))
    if small_whole:
        names = ", ".join(_lower_first(label(metric)) for metric, _ in small)
        out.append(
            {
                "metric": None,
                "points": float(small_whole),
                "whole": small_whole,
                "text": f"{signed(small_whole)}: {len(small)} measure{'s' if len(small) > 1 else ''} that moved less than "
                f"a point each ({names})",
            }
        )
    rounding = rest - small_whole
    if rounding:
        out.append(
            {
                "metric": None,
                "points": float(rounding),
                "whole": rounding,
                "text": f"{signed(rounding)}: rounding — each line above and both scores are rounded to whole points",
            }
        )
    return out
