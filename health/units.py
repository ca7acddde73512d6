"""How each metric's values read on a page: one unit and one number format per kind of metric.

"12 days", "18.8%", "1,234 events/30 days": the measure tables, "why it changed" and "what would
move it" all format values through `format_metric`, so the same metric never reads "20.0" in one
place and "18.75" in another.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    singular: str
    plural: str
    decimals: int = 0  # percentages keep one decimal; counts are whole numbers

    def format(self, value) -> str:
        if value is None:
            return "—"
        number = float(value)
        if self.decimals:
            text = f"{number:,.{self.decimals}f}"
        else:
            text = f"{round(number):,}"
        if self.singular == "%":
            return f"{text}%"
        unit = self.singular if text == "1" else self.plural
        return f"{text} {unit}" if unit else text


METRIC_UNITS: dict[str, Unit] = {
    "active_days_30d": Unit("active day", "active days"),
    "active_days_90d": Unit("active day", "active days"),
    "active_days_365d": Unit("active day", "active days"),
    "active_months_365d": Unit("active month", "active months"),
    "events_30d": Unit("event/30 days", "events/30 days"),
    "active_users_30d": Unit("user", "users"),
    "seat_utilization_30d": Unit("%", "%", decimals=1),
    "features_used_90d": Unit("feature", "features"),
    "days_since_last_activity": Unit("day", "days"),
    "nps_latest": Unit("", ""),
    "journey_progress": Unit("%", "%", decimals=1),
}

# Why a measure can have no value (SPEC §5.1), in words a CSM can act on.
NO_VALUE_REASONS = {
    "seat_utilization_30d": "no seat count on the account",
    "nps_latest": "no NPS answer yet",
    "journey_progress": "no journey for its vertical and primary use case",
    "days_since_last_activity": "no usage and no start date",
}


def format_metric(metric: str, value) -> str:
    """A metric's value with its unit: format_metric("seat_utilization_30d", 18.75) == "18.8%"."""
    unit = METRIC_UNITS.get(metric)
    if unit is None:
        return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
    return unit.format(value)


def format_number(metric: str, value) -> str:
    """The number alone, in the metric's format (for table cells whose header carries the unit)."""
    unit = METRIC_UNITS.get(metric)
    if value is None:
        return "—"
    decimals = unit.decimals if unit else 0
    return f"{float(value):,.{decimals}f}" if decimals else f"{round(float(value)):,}"


# In a sentence that starts with the metric's label ("active days (90d) fell from 14 to 6") a count's
# unit repeats the label; percentages and event counts say something the label does not.
SENTENCE_UNITS = {"seat_utilization_30d", "journey_progress", "events_30d"}


def format_in_sentence(metric: str, value) -> str:
    if metric in SENTENCE_UNITS:
        return format_metric(metric, value)
    return format_number(metric, value)
