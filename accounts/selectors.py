"""Reads over customer accounts for pages, the API and charts."""

from datetime import date, timedelta

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from accounts.models import Account, AccountUseCase, ArrChange, NpsResponse, StatedDriver, UsageDaily


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
    end = as_of or timezone.localdate()
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


def driver_events_90d(end: date):
    """For StatedDriver querysets: the events of the driver's account and feature in the 90 days
    up to `end` (0 without usage), as an indexed subquery per driver."""
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
    return (
        StatedDriver.objects.filter(account=account)
        .select_related("feature", "recorded_by")
        .annotate(events_90d=driver_events_90d(as_of or timezone.localdate()))
        .order_by("-recorded_at", "-id")
    )


def usage_heatmap(account: Account, end: date, *, days: int = 365) -> dict:
    """Events per feature and week (weeks start on Monday) over the `days` days ending `end`."""
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
    return list(NpsResponse.objects.filter(account=account).order_by("-date")[:limit])
