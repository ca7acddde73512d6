"""Reads over customer accounts for pages, the API and charts."""

from datetime import date, timedelta

from django.db.models import CharField, Count, F, FilteredRelation, Q, QuerySet, Sum, Value

from accounts.models import Account, AccountUseCase, ArrChange, UsageDaily


def account_list(*, vertical: str = "", owner: str = "", q: str = "") -> QuerySet[Account]:
    """Accounts filtered as on the accounts page: vertical slug, owner id, name search."""
    accounts = Account.objects.for_list()
    if vertical:
        accounts = accounts.filter(vertical__slug=vertical)
    if owner:
        accounts = accounts.filter(owner_id=owner)
    if q:
        accounts = accounts.filter(Q(name__icontains=q) | Q(external_id__iexact=q))
    return accounts.order_by("name", "id")


def account_detail(pk: int) -> Account:
    return Account.objects.for_list().get(pk=pk)


def account_use_cases(account: Account) -> list[str]:
    return list(
        AccountUseCase.objects.filter(account=account)
        .order_by("use_case__name")
        .values_list("use_case__name", flat=True)
    )


def arr_history(account: Account) -> QuerySet[ArrChange]:
    return ArrChange.objects.filter(account=account).order_by("date")


def usage_by_feature(account: Account, *, days: int = 90, as_of: date | None = None) -> dict:
    """Daily events per feature over the last `days` days ending `as_of` (inclusive)."""
    end = as_of or date.today()
    start = end - timedelta(days=days - 1)
    rows = (
        UsageDaily.objects.filter(account=account, date__range=(start, end))
        .order_by("feature__key", "date")
        .values_list("feature__name", "date", "events")
    )
    series: dict[str, dict] = {}
    for feature, day, events in rows:
        s = series.setdefault(feature, {"dates": [], "events": []})
        s["dates"].append(day.isoformat())
        s["events"].append(events)
    return {"start": start, "end": end, "series": series}


def revenue_by_vertical(day: date | None) -> list[dict]:
    """Per vertical, active accounts only: accounts, ARR, share of ARR, average ARR, ARR at risk and
    the health mix on `day` (the latest results).

    One query whatever the number of accounts: the active accounts LEFT JOINed to their result of
    `day`, grouped by vertical and band (an account without a result that day has band NULL).
    """
    today = day or date.today()
    accounts = Account.objects.active_on(today)
    if day is not None:
        accounts = accounts.annotate(result=FilteredRelation("health_scores", condition=Q(health_scores__as_of=day)))
        band = F("result__band")
    else:
        band = Value(None, output_field=CharField())
    rows = (
        accounts.values("vertical__slug", "vertical__name", day_band=band)
        .annotate(n=Count("id"), arr=Sum("arr"))
        .order_by()
    )
    verticals: dict[str, dict] = {}
    for r in rows:
        v = verticals.setdefault(r["vertical__slug"], {"name": r["vertical__name"], "accounts": 0, "arr": 0, "mix": {}})
        v["accounts"] += r["n"]
        v["arr"] += r["arr"] or 0
        if r["day_band"] is not None:
            v["mix"][r["day_band"]] = r
    total = sum(v["arr"] for v in verticals.values()) or 0
    out = []
    for slug, v in verticals.items():
        mix, arr = v["mix"], v["arr"]
        counted = sum(b["n"] for b in mix.values())
        out.append(
            {
                "vertical": v["name"],
                "slug": slug,
                "accounts": v["accounts"],
                "arr": arr,
                "share_of_arr": round(float(arr) / float(total) * 100, 2) if total else 0.0,
                "average_arr": round(float(arr) / v["accounts"], 2) if v["accounts"] else 0.0,
                "arr_at_risk": mix.get("at_risk", {}).get("arr") or 0,
                "health_mix": {
                    "healthy": mix.get("healthy", {}).get("n", 0),
                    "neutral": mix.get("neutral", {}).get("n", 0),
                    "at_risk": mix.get("at_risk", {}).get("n", 0),
                    "unknown": v["accounts"] - counted + mix.get("unknown", {}).get("n", 0),
                },
            }
        )
    return sorted(out, key=lambda v: (-v["arr"], v["vertical"]))


def driver_events_90d(end: date):
    """For StatedDriver querysets: the events of the driver's account and feature in the 90 days
    up to `end` (0 without usage), as an indexed subquery per driver."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    events = (
        UsageDaily.objects.filter(
            account=OuterRef("account"), feature=OuterRef("feature"), date__range=(end - timedelta(days=89), end)
        )
        .values("account")
        .annotate(total=Sum("events"))
        .values("total")
    )
    return Coalesce(Subquery(events), 0)


def drivers_with_usage(account: Account, as_of: date | None = None) -> QuerySet:
    """The account's stated drivers, each with its feature's events in the 90 days up to `as_of`."""
    from accounts.models import StatedDriver

    return (
        StatedDriver.objects.filter(account=account)
        .select_related("feature", "recorded_by")
        .annotate(events_90d=driver_events_90d(as_of or date.today()))
        .order_by("-recorded_at", "-id")
    )


def latest_health(account: Account):
    """The account's most recent daily result, with its scorecard, tier and touch model (or None)."""
    from health.models import HealthScore
    from segments.selectors import with_touch_model

    return (
        with_touch_model(HealthScore.objects.filter(account=account))
        .select_related("scorecard", "tier")
        .order_by("-as_of")
        .first()
    )


# --- The account page: history, journey, segments, say vs do, usage heatmap, NPS ----------------
# Each read is one query whatever the length of the account's history.


def health_trend(account: Account, end: date, *, days: int = 365) -> list[dict]:
    """Daily score and band over the `days` days ending `end` (no measures: the trend only)."""
    from health.models import HealthScore

    return list(
        HealthScore.objects.filter(account=account, as_of__range=(end - timedelta(days=days - 1), end))
        .order_by("as_of")
        .values("as_of", "score", "band")
    )


def health_on(account: Account, days: list[date]) -> dict:
    """The account's results (with measures) on the given days: {day: HealthScore}."""
    from health.models import HealthScore

    return {h.as_of: h for h in HealthScore.objects.filter(account=account, as_of__in=days).select_related("scorecard")}


def journey_steps(account: Account) -> dict | None:
    """The stages of the journey of the account's vertical and primary use case, with the ones its
    latest metrics reached marked (stages up to and including `journey_stage`). None without one."""
    from health.models import AccountMetrics
    from journeys.models import Stage

    if account.primary_use_case_id is None:
        return None
    stages = list(
        Stage.objects.filter(journey__vertical_id=account.vertical_id, journey__use_case_id=account.primary_use_case_id)
        .order_by("position", "id")
        .values("id", "name")
    )
    if not stages:
        return None
    latest = AccountMetrics.objects.filter(account=account).order_by("-as_of").values("as_of", "journey_stage_id").first()
    reached_id = latest["journey_stage_id"] if latest else None
    ids = [s["id"] for s in stages]
    reached_upto = ids.index(reached_id) if reached_id in ids else -1
    for i, stage in enumerate(stages):
        stage["reached"] = i <= reached_upto
        stage["current"] = i == reached_upto
    return {"stages": stages, "as_of": latest["as_of"] if latest else None, "reached": reached_upto + 1}


def segment_history(account: Account) -> list:
    """The account's stays in segments, current ones first, then the most recent."""
    from segments.models import SegmentMembership

    return list(
        SegmentMembership.objects.filter(account=account)
        .select_related("segment")
        .order_by(F("left_on").desc(nulls_first=True), "-entered_on", "segment__name")
    )


def usage_heatmap(account: Account, end: date, *, days: int = 365) -> dict:
    """Events per feature and week (weeks start on Monday) over the `days` days ending `end`."""
    from django.db.models.functions import TruncWeek

    start = end - timedelta(days=days - 1)
    rows = (
        UsageDaily.objects.filter(account=account, date__range=(start, end))
        .annotate(week=TruncWeek("date"))
        .values("feature__name", "week")
        .annotate(events=Sum("events"))
        .order_by("feature__name", "week")
    )
    first_week = start - timedelta(days=start.weekday())
    weeks = [first_week + timedelta(weeks=i) for i in range((end - first_week).days // 7 + 1)]
    index = {w: i for i, w in enumerate(weeks)}
    matrix: dict[str, list[int]] = {}
    for r in rows:
        week = r["week"].date() if hasattr(r["week"], "date") else r["week"]
        matrix.setdefault(r["feature__name"], [0] * len(weeks))[index[week]] = r["events"]
    totals = [{"feature": f, "events": sum(row), "weeks": sum(1 for e in row if e)} for f, row in matrix.items()]
    return {"weeks": weeks, "features": list(matrix), "events": list(matrix.values()), "totals": totals}


def nps_history(account: Account, *, limit: int = 100) -> list:
    from accounts.models import NpsResponse

    return list(NpsResponse.objects.filter(account=account).order_by("-date")[:limit])
