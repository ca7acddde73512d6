"""The usage metrics of SPEC §5.1: their keys, what they mean and which direction is better.

One catalogue used by the config validation, the rule grammar, the admin pickers and the engine.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    meaning: str
    higher_is_better: bool


METRICS: dict[str, MetricInfo] = {
    m.key: m
    for m in [
        MetricInfo("active_days_30d", "Active days (30d)", "Distinct days with events in the last 30 days", True),
        MetricInfo("active_days_90d", "Active days (90d)", "Distinct days with events in the last 90 days", True),
        MetricInfo("active_days_365d", "Active days (365d)", "Distinct days with events in the last 365 days", True),
        MetricInfo(
            "active_months_365d",
            "Active months (365d)",
            "Distinct calendar months with events in the last 365 days (seasonal rhythm)",
            True,
        ),
        MetricInfo("events_30d", "Events (30d)", "Sum of events in the last 30 days", True),
        MetricInfo("active_users_30d", "Active users (30d)", "Most active users on any day in the last 30 days", True),
        MetricInfo(
            "seat_utilization_30d",
            "Seat utilization (30d)",
            "100 × active users (30d) / seats; none without seats",
            True,
        ),
        MetricInfo(
            "features_used_90d", "Features used (90d)", "Distinct features with events in the last 90 days", True
        ),
        MetricInfo(
            "days_since_last_activity",
            "Days since last activity",
            "Days since the last day with events (or since the start date without usage)",
            False,
        ),
        MetricInfo("nps_latest", "Latest NPS", "Latest NPS answer (0–10) on or before the date", True),
        MetricInfo(
            "journey_progress",
            "Journey progress",
            "% of the stages reached in the journey of the account's vertical and primary use case",
            True,
        ),
    ]
}

METRIC_CHOICES = [(m.key, m.label) for m in METRICS.values()]
