"""Reads over journeys: funnels (accounts reaching each stage) and accounts stuck in a stage."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum

from accounts.models import Vertical
from dashboards.models import VerticalDay
from health.models import AccountMetrics
from journeys.models import Journey, Stage

STUCK_DAYS = 30
STUCK_LIMIT = 100


def _active_metrics(day: date):
    return AccountMetrics.objects.filter(as_of=day).filter(Q(account__churned_on__isnull=True) | Q(account__churned_on__gt=day))


def _stage_counts(day: date, vertical: Vertical | None) -> dict[tuple[int, int], dict]:
    """{(vertical id, primary use case id): {journey stage id or None: active accounts}} on `day`:
    from the day's VerticalDay rows (written with the results), or counted from the day's
    AccountMetrics when there are none."""
    counts: dict[tuple[int, int], dict] = {}
    rollup = VerticalDay.objects.filter(day=day)
    if vertical is not None:
        rollup = rollup.filter(vertical=vertical)
    rows = list(rollup.values_list("vertical_id", "journey_stages"))
    if rows:
        for vertical_id, by_use_case in rows:
            for use_case_id, stages in by_use_case.items():
                counts[(vertical_id, int(use_case_id))] = {
                    None if stage == "none" else int(stage): n for stage, n in stages.items()
                }
        return counts
    metrics = _active_metrics(day)
    if vertical is not None:
        metrics = metrics.filter(account__vertical=vertical)
    for row in metrics.values("account__vertical_id", "account__primary_use_case_id", "journey_stage_id").annotate(n=Count("id")):
        scope = counts.setdefault((row["account__vertical_id"], row["account__primary_use_case_id"]), {})
        scope[row["journey_stage_id"]] = scope.get(row["journey_stage_id"], 0) + row["n"]
    return counts


def journey_funnels(day: date | None, *, vertical: Vertical | None = None) -> list[dict]:
    """Per journey (vertical × use case): the active accounts in its scope and how many reached
    each stage on `day`. An account has reached a stage when its journey stage (the last stage
    reached with every stage before it) is at that position or later. Three queries (the counts
    from the day's VerticalDay rollup, or live from AccountMetrics without one: four)."""
    journeys = Journey.objects.select_related("vertical", "use_case").order_by("vertical__name", "use_case__name")
    if vertical is not None:
        journeys = journeys.filter(vertical=vertical)
    journeys = list(journeys)
    stages = Stage.objects.filter(journey__in=journeys).order_by("journey_id", "position", "id").values_list("journey_id", "id", "name")
    by_journey: dict[int, list[tuple[int, str]]] = {}
    for journey_id, stage_id, name in stages:
        by_journey.setdefault(journey_id, []).append((stage_id, name))
    counts: dict[tuple[int, int], dict] = {}
    if day is not None and journeys:
        counts = _stage_counts(day, vertical)
    funnels = []
    for journey in journeys:
        at_stage = counts.get((journey.vertical_id, journey.use_case_id), {})
        ordered = by_journey.get(journey.pk, [])
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
            }
        )
    return funnels


def stuck_metrics(day: date, *, days: int = STUCK_DAYS) -> tuple[QuerySet[AccountMetrics], date | None]:
    """The day's AccountMetrics rows of stuck active accounts (every vertical) and the comparison
    day: in a stage that is not their journey's last, and in that same stage on the latest results
    at least `days` days earlier (without results that old, every account in a stage whose next
    stage is not reached, and no comparison day)."""
    last_stage: dict[int, int] = {}
    for journey_id, stage_id in Stage.objects.order_by("journey_id", "position", "id").values_list("journey_id", "id"):
        last_stage[journey_id] = stage_id
    stuck = _active_metrics(day).filter(journey_stage__isnull=False).exclude(journey_stage_id__in=last_stage.values())
    compared_on = AccountMetrics.objects.filter(as_of__lte=day - timedelta(days=days)).aggregate(d=Max("as_of"))["d"]
    if compared_on is not None:
        same_stage_then = AccountMetrics.objects.filter(
            account_id=OuterRef("account_id"), as_of=compared_on, journey_stage_id=OuterRef("journey_stage_id")
        )
        stuck = stuck.filter(Exists(same_stage_then))
    return stuck, compared_on


STUCK_ORDER = ("-account__arr", "account__name", "account_id")


def _stuck_from_rollup(day: date, vertical: Vertical | None, limit: int) -> dict | None:
    """The count, ARR, comparison day and top accounts stored with the day's VerticalDay rows
    (for STUCK_DAYS and up to STUCK_LIMIT accounts per vertical), or None without them."""
    rows = VerticalDay.objects.filter(day=day)
    if vertical is not None:
        rows = rows.filter(vertical=vertical)
    stored = list(rows.values_list("stuck", flat=True))
    if not stored or not all("top" in s for s in stored):
        return None
    # The overall top `limit` are among the verticals' own top `limit` (STUCK_LIMIT each).
    top_ids = [pk for s in stored for pk in s["top"]]
    rows = AccountMetrics.objects.filter(as_of=day, account_id__in=top_ids).select_related(
        "account__vertical", "account__primary_use_case", "account__owner", "journey_stage"
    )
    return {
        "accounts": list(rows.order_by(*STUCK_ORDER)[:limit]),
        "count": sum(s["accounts"] for s in stored),
        "arr": sum((Decimal(s["arr"]) for s in stored), Decimal(0)),
        "compared_on": date.fromisoformat(stored[0]["compared_on"]) if stored[0]["compared_on"] else None,
    }


def stuck_accounts(day: date | None, *, vertical: Vertical | None = None, days: int = STUCK_DAYS, limit: int = STUCK_LIMIT) -> dict:
    """Accounts stuck in a stage on `day` (see stuck_metrics), the `limit` largest by ARR, with the
    count and ARR of all and the comparison day (`compared_on`, None without results that old).
    From the day's VerticalDay rollup (two queries) for the default `days`, else counted live
    (four queries)."""
    result = {"accounts": [], "count": 0, "arr": 0, "compared_on": None, "days": days}
    if day is None:
        return result
    if days == STUCK_DAYS and limit <= STUCK_LIMIT:
        stored = _stuck_from_rollup(day, vertical, limit)
        if stored is not None:
            return {**result, **stored}
    stuck, compared_on = stuck_metrics(day, days=days)
    if vertical is not None:
        stuck = stuck.filter(account__vertical=vertical)
    totals = stuck.aggregate(n=Count("id"), arr=Sum("account__arr"))
    rows = stuck.select_related("account__vertical", "account__primary_use_case", "account__owner", "journey_stage")
    result.update(
        accounts=list(rows.order_by(*STUCK_ORDER)[:limit]),
        count=totals["n"],
        arr=totals["arr"] or 0,
        compared_on=compared_on,
    )
    return result
