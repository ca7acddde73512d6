"""How far back each metric looks, so a page can say when a day's windows reach before the first
usage the product holds (a "partial" day: its low score may be missing data, not a real drop)."""

from datetime import date, timedelta

# Days of usage each metric reads up to its date (SPEC §5.1); journey stages read 90 days.
METRIC_WINDOWS = {
    "active_days_30d": 30,
    "events_30d": 30,
    "active_users_30d": 30,
    "seat_utilization_30d": 30,
    "active_days_90d": 90,
    "features_used_90d": 90,
    "journey_progress": 90,
    "active_days_365d": 365,
    "active_months_365d": 365,
}


def scorecard_window(metrics) -> int:
    """The longest window among a scorecard's metrics (0 when none reads a window of usage)."""
    return max((METRIC_WINDOWS.get(m, 0) for m in metrics), default=0)


def complete_from(first_usage: date | None, window: int) -> date | None:
    """The first day whose `window`-day windows lie wholly on or after `first_usage`."""
    if first_usage is None or window <= 0:
        return None
    return first_usage + timedelta(days=window - 1)


def is_partial(day: date, first_usage: date | None, window: int) -> bool:
    start = complete_from(first_usage, window)
    return start is not None and day < start
