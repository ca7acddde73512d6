"""Reads over customer accounts for pages, the API and charts."""

from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Account, AccountUseCase, ArrChange, UsageDaily, Vertical


def vertical_overview() -> list[dict]:
    """Per vertical: active accounts and their ARR, largest first (one query)."""
    today = date.today()
    active = Q(accounts__churned_on__isnull=True) | Q(accounts__churned_on__gt=today)
    rows = (
        Vertical.objects.annotate(
            account_count=Count("accounts", filter=active),
            total_arr=Sum("accounts__arr", filter=active),
        )
        .order_by("-total_arr", "name")
        .values("name", "slug", "account_count", "total_arr")
    )
    return list(rows)


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
