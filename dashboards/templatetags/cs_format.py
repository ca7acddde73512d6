"""Template filters that turn stored keys and numbers into what a page says.

{% load cs_format %}: {{ band|band_label }} → "At risk", {{ key|touch_label }} → "Self-service",
{{ arr|money }} → "$12,300", {{ value|metric:"events_30d" }} → "1,234 events/30 days",
{{ n|signed }} → "+3" / "−5" / "±0".
"""

from decimal import Decimal

from django import template

from health.models import Band
from health.units import format_metric, format_number
from segments.models import TouchModel

register = template.Library()

BAND_LABELS = {**dict(Band.choices), "not_started": "Not started"}
TOUCH_LABELS = dict(TouchModel.choices)


@register.filter
def band_label(key) -> str:
    return BAND_LABELS.get(key or "unknown", str(key).replace("_", " ").capitalize())


@register.filter
def touch_label(key) -> str:
    return TOUCH_LABELS.get(key, "") if key else ""


@register.filter
def money(value) -> str:
    """Whole dollars with thousands separators; "—" for no value."""
    if value is None or value == "":
        return "—"
    amount = round(Decimal(str(value)))
    return f"−${-amount:,}" if amount < 0 else f"${amount:,}"


@register.filter
def metric(value, key: str) -> str:
    return format_metric(key, value)


@register.filter
def metric_number(value, key: str) -> str:
    return format_number(key, value)


@register.filter
def signed(value) -> str:
    if value is None or value == "":
        return "—"
    n = round(float(value))
    return "±0" if n == 0 else f"+{n}" if n > 0 else f"−{-n}"


@register.filter
def absolute(value):
    return abs(value) if value is not None else value
