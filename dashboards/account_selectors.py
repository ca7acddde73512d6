"""Reads of the account page that combine an account with its results: latest health, the trend,
the journey reached, the segment stays. Each is one query whatever the length of the history."""

from datetime import date, timedelta
from fractions import Fraction

from django.db.models import F

from accounts.models import Account, UsageDaily
from health.models import AccountMetrics, HealthScore, Measure
from health.what_if import Definition
from journeys.models import Stage
from segments.models import SegmentMembership
from segments.selectors import with_touch_model


def latest_health(account: Account):
    """The account's most recent daily result, with its scorecard, tier and touch model (or None)."""
    return (
        with_touch_model(HealthScore.objects.filter(account=account))
        .select_related("scorecard", "tier")
        .order_by("-as_of")
        .first()
    )


def health_trend(account: Account, end: date, *, days: int = 365) -> list[dict]:
    """Daily score and band over the `days` days ending `end` (no measures: the trend only)."""
    return list(
        HealthScore.objects.filter(account=account, as_of__range=(end - timedelta(days=days - 1), end))
        .order_by("as_of")
        .values("as_of", "score", "band")
    )


def health_on(account: Account, days: list[date]) -> dict:
    """The account's results (with measures) on the given days: {day: HealthScore}."""
    return {h.as_of: h for h in HealthScore.objects.filter(account=account, as_of__in=days).select_related("scorecard")}


def journey_steps(account: Account) -> dict | None:
    """The stages of the journey of the account's vertical and primary use case, with the ones its
    latest metrics reached marked (stages up to and including `journey_stage`). None without one."""
    if account.primary_use_case_id is None:
        return None
    stages = list(
        Stage.objects.filter(journey__vertical_id=account.vertical_id, journey__use_case_id=account.primary_use_case_id)
        .order_by("position", "id")
        .values("id", "name")
    )
    if not stages:
        return None
    latest = (
        AccountMetrics.objects.filter(account=account).order_by("-as_of").values("as_of", "journey_stage_id").first()
    )
    reached_id = latest["journey_stage_id"] if latest else None
    ids = [s["id"] for s in stages]
    reached_upto = ids.index(reached_id) if reached_id in ids else -1
    for i, stage in enumerate(stages):
        stage["reached"] = i <= reached_upto
        stage["current"] = i == reached_upto
    return {"stages": stages, "as_of": latest["as_of"] if latest else None, "reached": reached_upto + 1}


def segment_history(account: Account) -> list:
    """The account's stays in segments, current ones first, then the most recent."""
    return list(
        SegmentMembership.objects.filter(account=account)
        .select_related("segment")
        .order_by(F("left_on").desc(nulls_first=True), "-entered_on", "segment__name")
    )


def touch_model_of(health: HealthScore | None) -> str:
    """The account's touch model on the day of `health` (its key, "" for none). One place to read
    it: when touch models move to a segments-owned per-day table, this is the line that changes."""
    return health.touch_model if health is not None else ""


def latest_metrics(account: Account, day: date | None) -> AccountMetrics | None:
    """The account's metrics of `day` (days since last activity for the page's header)."""
    if day is None:
        return None
    return AccountMetrics.objects.filter(account=account, as_of=day).only("as_of", "days_since_last_activity").first()


def first_usage_day(account: Account) -> date | None:
    """The first day of usage the product holds for the account (the unique index's range start)."""
    return UsageDaily.objects.filter(account=account).order_by("date").values_list("date", flat=True).first()


def scorecard_definitions(scorecard_id: int | None) -> dict:
    """{metric: Definition} of a scorecard's measures as they are now (for "what would move it")."""
    if scorecard_id is None:
        return {}
    return {
        m.metric: Definition(m.metric, Fraction(str(m.weight)), Fraction(str(m.red)), Fraction(str(m.green)))
        for m in Measure.objects.filter(scorecard_id=scorecard_id)
    }
