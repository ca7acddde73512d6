"""The journey figures of the journeys and vertical pages: funnels (accounts reaching each stage)
and accounts stuck in a stage.

Both are read from the day's VerticalDay rollup (journey_stages and stuck), written with the day's
results. The stuck computation itself (stuck_metrics) lives here too: it is what the rollup writer
calls, the one implementation of "stuck".
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from accounts.models import Vertical
from dashboards.models import VerticalDay
from dashboards.rollups import JourneyStageCounts, StuckSummary
from dashboards.selectors import vertical_days_rolled_up
from health.models import AccountMetrics
from journeys.selectors import journeys_with_stages, last_stage_ids

STUCK_DAYS = 30
STUCK_LIMIT = 100
STUCK_ORDER = ("-account__arr", "account__name", "account_id")


def _day_rows(day: date, vertical: Vertical | None) -> QuerySet[VerticalDay]:
    rows = VerticalDay.objects.filter(day=day)
    return rows if vertical is None else rows.filter(vertical=vertical)


def _rolled_up(day: date, rows: list) -> bool:
    # Rows for the (filtered) day: rolled up. None for a vertical may just mean it had no scored
    # account that day, so only then is the whole day asked.
    return bool(rows) or vertical_days_rolled_up(day)


def journey_funnels(day: date | None, *, vertical: Vertical | None = None) -> list[dict]:
    """Per journey (vertical × use case): the active accounts in its scope and how many reached
    each stage on `day`. An account has reached a stage when its journey stage (the last stage
    reached with every stage before it) is at that position or later. Three queries: journeys,
    stages, the day's VerticalDay rows. Without a rollup for the day the funnels count nobody
    (`rolled_up` False on each)."""
    journeys = journeys_with_stages(vertical=vertical)
    counts: dict[tuple[int, int], dict[int | None, int]] = {}
    rolled_up = False
    if day is not None and journeys:
        rows = list(_day_rows(day, vertical).values_list("vertical_id", "journey_stages"))
        rolled_up = _rolled_up(day, rows)
        for vertical_id, stored in rows:
            for use_case_id, stages in JourneyStageCounts.from_json(stored).by_use_case.items():
                counts[(vertical_id, use_case_id)] = stages
    funnels = []
    for journey, ordered in journeys:
        at_stage = counts.get((journey.vertical_id, journey.use_case_id), {})
        reached, running = [], 0
        for stage_id, name in reversed(ordered):
            running += at_stage.get(stage_id, 0)
            reached.append({"stage": name, "accounts": running})
        funnels.append(
            {
                "journey_id": journey.pk,
                "vertical": journey.vertical.name,
                "vertical_slug": journey.vertical.slug,
                "use_case": journey.use_case.name,
                "accounts": sum(at_stage.values()),
                "stages": reached[::-1],
                "rolled_up": rolled_up,
            }
        )
    return funnels


def _active_metrics(day: date) -> QuerySet[AccountMetrics]:
    return AccountMetrics.objects.filter(as_of=day).filter(
        Q(account__churned_on__isnull=True) | Q(account__churned_on__gt=day)
    )


def stuck_compared_on(day: date, *, days: int = STUCK_DAYS) -> date | None:
    """The latest day with results at least `days` days before `day` (None without one)."""
    return AccountMetrics.objects.filter(as_of__lte=day - timedelta(days=days)).aggregate(d=Max("as_of"))["d"]


def stuck_metrics(day: date, *, days: int = STUCK_DAYS) -> tuple[QuerySet[AccountMetrics], date | None]:
    """The day's AccountMetrics rows of stuck active accounts (every vertical) and the comparison
    day: in a stage that is not their journey's last, and in that same stage on the latest results
    at least `days` days earlier (without results that old, every account in a stage whose next
    stage is not reached, and no comparison day). The rollup writer's computation."""
    stuck = _active_metrics(day).filter(journey_stage__isnull=False).exclude(journey_stage_id__in=last_stage_ids())
    compared_on = stuck_compared_on(day, days=days)
    if compared_on is not None:
        same_stage_then = AccountMetrics.objects.filter(
            account_id=OuterRef("account_id"), as_of=compared_on, journey_stage_id=OuterRef("journey_stage_id")
        )
        stuck = stuck.filter(Exists(same_stage_then))
    return stuck, compared_on


def stuck_accounts(day: date | None, *, vertical: Vertical | None = None, limit: int = STUCK_LIMIT) -> dict:
    """Accounts stuck in a stage on `day` (see stuck_metrics, STUCK_DAYS), the `limit` (at most
    STUCK_LIMIT) largest by ARR, with the count and ARR of all and the comparison day
    (`compared_on`, None without results that old): from the day's VerticalDay rollup, two queries.
    `rolled_up` is False for a day without a rollup (nothing listed)."""
    if limit > STUCK_LIMIT:
        raise ValueError(f"the rollup keeps the {STUCK_LIMIT} largest stuck accounts per vertical, not {limit}")
    result = {
        "accounts": [],
        "count": 0,
        "arr": Decimal(0),
        "compared_on": None,
        "days": STUCK_DAYS,
        "rolled_up": False,
    }
    if day is None:
        return result
    rows = list(_day_rows(day, vertical).values_list("stuck", flat=True))
    result["rolled_up"] = _rolled_up(day, rows)
    stored = [StuckSummary.from_json(s) for s in rows]
    if not stored:
        return result
    # The overall top `limit` are among the verticals' own top `limit` (STUCK_LIMIT each).
    top_ids = [pk for s in stored for pk in s.top]
    accounts = AccountMetrics.objects.filter(as_of=day, account_id__in=top_ids).select_related(
        "account__vertical", "account__primary_use_case", "account__owner", "journey_stage"
    )
    return {
        **result,
        "accounts": list(accounts.order_by(*STUCK_ORDER)[:limit]) if top_ids else [],
        "count": sum(s.accounts for s in stored),
        "arr": sum((s.arr for s in stored), Decimal(0)),
        "compared_on": stored[0].compared_on,
    }
