"""Plain words for plays: why a play fired, and the task templates ({account.name}, {trigger.reason}…).

No queries here: callers pass the facts. Templates are rendered with `render_template`, which
never fails: a placeholder without a value renders empty, and an unknown placeholder is left as
written ("{account.nmae}"), so a typo shows on the task instead of breaking a recompute.
"""

import re
from datetime import date

from health.explain import points_earned
from health.metrics_catalog import METRICS

PLACEHOLDER = re.compile(r"\{([a-z_]+)\.([a-z_]+)\}")
PLACEHOLDERS = {
    "account": ("name", "external_id", "vertical", "arr", "owner", "renewal_date", "days_to_renewal"),
    "health": ("score", "band", "score_7d_ago"),
    "trigger": ("type", "reason", "segment", "band", "points", "days", "features"),
    "play": ("name",),
    "measure": ("label", "text"),
}
BAND_WORDS = {
    "healthy": "healthy",
    "neutral": "neutral",
    "at_risk": "at risk",
    "unknown": "unknown",
    "churned": "churned",
    "not_started": "not started",
}


def unknown_placeholders(text: str) -> list[str]:
    """The placeholders of `text` that no firing can fill ('{account.nmae}')."""
    return [m.group(0) for m in PLACEHOLDER.finditer(text or "") if m.group(2) not in PLACEHOLDERS.get(m.group(1), ())]


def render_template(text: str, context: dict[str, dict]) -> str:
    """`text` with each known placeholder replaced by its value (None → empty)."""

    def value(match: re.Match) -> str:
        group, key = match.group(1), match.group(2)
        if key not in PLACEHOLDERS.get(group, ()):
            return match.group(0)
        found = (context.get(group) or {}).get(key)
        if found is None:
            return ""
        if isinstance(found, list):
            return ", ".join(str(v) for v in found)
        return str(found)

    return PLACEHOLDER.sub(value, text or "")


def _num(value) -> str:
    if isinstance(value, float):
        return f"{value:g}" if not value.is_integer() else str(int(value))
    return str(value)


def biggest_move(measures_now: list[dict] | None, measures_then: list[dict] | None) -> dict | None:
    """The measure that moved the score most between two days: {metric, label, then, now, points, text}."""
    if not measures_now or not measures_then:
        return None
    now_points, then_points = points_earned(measures_now), points_earned(measures_then)
    values_now = {m["metric"]: m.get("value") for m in measures_now}
    values_then = {m["metric"]: m.get("value") for m in measures_then}
    best = None
    for metric in values_now.keys() & values_then.keys():
        then, now = values_then[metric], values_now[metric]
        if then is None or now is None or then == now:
            continue
        delta = now_points.get(metric, 0.0) - then_points.get(metric, 0.0)
        if best is None or abs(delta) > abs(best[1]) or (abs(delta) == abs(best[1]) and metric < best[0]):
            best = (metric, delta, then, now)
    if best is None:
        return None
    metric, delta, then, now = best
    label = METRICS[metric].label if metric in METRICS else metric
    verb = "rose" if now > then else "fell"
    text = f"{label[:1].lower() + label[1:] if not label[:2].isupper() else label} {verb} {_num(then)} → {_num(now)}"
    return {"metric": metric, "label": label, "then": then, "now": now, "points": round(delta, 1), "text": text}


def trigger_reason(kind: str, facts: dict) -> str:
    """The event in a few words: "entered segment 'Education at risk'"."""
    if kind == "segment_entered":
        return f"entered segment '{facts.get('segment')}'"
    if kind == "segment_left":
        return f"left segment '{facts.get('segment')}'"
    if kind == "band_became":
        then = BAND_WORDS.get(facts.get("band_then"), facts.get("band_then"))
        return f"band became {BAND_WORDS.get(facts.get('band'), facts.get('band'))} (was {then})"
    if kind == "score_dropped":
        return (
            f"score fell {facts.get('points')} points in 7 days ({facts.get('score_then')} → {facts.get('score_now')})"
        )
    if kind == "renewal_within":
        n = facts.get("days_to_renewal")
        return f"renewal in {n} day{'' if n == 1 else 's'} ({facts.get('renewal_date')})"
    if kind == "driver_unused":
        features = facts.get("features") or []
        names = ", ".join(features)
        return f"stated driver{'s' if len(features) > 1 else ''} {names} unused for 90 days"
    return kind


def why_text(kind: str, facts: dict, day: date, *, score, band: str | None, move: dict | None) -> str:
    """ "entered segment 'Education at risk' on 2026-11-23: health 35, at risk; active days (90d) fell 14 → 6"."""
    health = (
        f"health {score}, {BAND_WORDS.get(band, band)}"
        if score is not None
        else f"no health score ({BAND_WORDS.get(band or 'unknown', band)})"
    )
    text = f"{trigger_reason(kind, facts)} on {day.isoformat()}: {health}"
    if move:
        text += f"; {move['text']}"
    return text
