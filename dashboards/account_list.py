"""The account list with health (/accounts/): filters, sorting, the count line and its CSV.

Accounts are LEFT JOINed to their result and metrics of the results day (FilteredRelation), so one
query gives every column whatever the page: score, band, 30-day change, days since last activity.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import CharField, Count, ExpressionWrapper, F, FilteredRelation, IntegerField, Q, QuerySet, Value
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import Account, Tier
from core import csv
from dashboards.exports import COLUMNS as EXPORT_COLUMNS
from dashboards.exports import export_rows
from segments.selectors import memberships_on

# name → (order field, label); "-" is added for descending. Nulls always sort last.
SORTS = {
    "name": ("name", "Account"),
    "arr": ("arr", "ARR"),
    "score": ("score_now", "Score"),
    "change": ("change_30d", "30-day change"),
    "inactive": ("inactive_days", "Days since last activity"),
    "renewal": ("renewal_date", "Renewal"),
}
DEFAULT_SORT = "name"
RENEWAL_WINDOWS = {
    "overdue": "Renewal overdue",
    "30": "Renews in 0–30 days",
    "90": "Renews in 0–90 days",
    "180": "Renews in 0–180 days",
    "none": "No renewal date",
}
STATUSES = {"active": "Active", "churned": "Churned", "all": "Active and churned"}

# The §4.6 export's columns first (a reader by header keeps working), then what the list adds.
LIST_CSV_COLUMNS = [*EXPORT_COLUMNS, "owner_email", "renewal_date", "days_to_renewal", "status"]


@dataclass(frozen=True)
class ListFilters:
    q: str = ""
    vertical: str = ""
    owner: str = ""
    band: str = ""
    segment: str = ""
    tier: str = ""
    renewal: str = ""
    status: str = "active"
    sort: str = DEFAULT_SORT


def with_health(accounts: QuerySet[Account], day: date | None) -> QuerySet[Account]:
    """Annotates score_now, band_now, score_then (30 days before), change_30d and inactive_days
    from the day's HealthScore and AccountMetrics rows (NULL without a result that day)."""
    if day is None:
        nothing = Value(None, output_field=IntegerField())
        return accounts.annotate(
            score_now=nothing,
            band_now=Value(None, output_field=CharField()),
            score_then=nothing,
            change_30d=nothing,
            inactive_days=nothing,
        )
    return accounts.annotate(
        now=FilteredRelation("health_scores", condition=Q(health_scores__as_of=day)),
        day_metrics=FilteredRelation("metrics", condition=Q(metrics__as_of=day)),
    ).annotate(
        score_now=F("now__score"),
        band_now=F("now__band"),
        score_then=F("now__score_30d_ago"),
        change_30d=ExpressionWrapper(F("now__score") - F("now__score_30d_ago"), output_field=IntegerField()),
        inactive_days=F("day_metrics__days_since_last_activity"),
    )


def _tier_filter(tier_id: str) -> Q:
    """ARR within the tier's range: at least its min_arr, below the next tier's (SPEC §6)."""
    tiers = list(Tier.objects.order_by("min_arr").values_list("pk", "min_arr"))
    for i, (pk, low) in enumerate(tiers):
        if str(pk) == str(tier_id):
            cond = Q(arr__gte=low)
            if i + 1 < len(tiers):
                cond &= Q(arr__lt=tiers[i + 1][1])
            return cond
    return Q(pk__in=[])


def _status_filter(status: str, day: date) -> Q:
    churned = Q(churned_on__isnull=False, churned_on__lte=day)
    return {"active": ~churned, "churned": churned}.get(status, Q())


def _renewal_filter(window: str, day: date) -> Q:
    if window == "overdue":
        return Q(renewal_date__lt=day)
    if window == "none":
        return Q(renewal_date__isnull=True)
    if window in RENEWAL_WINDOWS:
        return Q(renewal_date__range=(day, day + timedelta(days=int(window))))
    return Q()


def filtered(filters: ListFilters, day: date | None) -> QuerySet[Account]:
    """The accounts the filters select, before the status filter (so the page can count both)."""
    today = day or timezone.localdate()
    accounts = account_selectors.account_list(vertical=filters.vertical, owner=filters.owner, q=filters.q)
    accounts = with_health(accounts, day)
    if filters.band and day is not None:
        accounts = accounts.filter(band_now=filters.band)
    if filters.segment:
        accounts = accounts.filter(
            pk__in=memberships_on(today).filter(segment__slug=filters.segment).values("account_id")
        )
    if filters.tier:
        accounts = accounts.filter(_tier_filter(filters.tier))
    if filters.renewal:
        accounts = accounts.filter(_renewal_filter(filters.renewal, today))
    return accounts


def account_rows(filters: ListFilters, day: date | None) -> QuerySet[Account]:
    """The list's rows: filtered, in the chosen status, sorted (nulls last, then name)."""
    today = day or timezone.localdate()
    accounts = filtered(filters, day).filter(_status_filter(filters.status, today))
    key = filters.sort.lstrip("-")
    field = SORTS.get(key, SORTS[DEFAULT_SORT])[0]
    order = F(field).desc(nulls_last=True) if filters.sort.startswith("-") else F(field).asc(nulls_last=True)
    return accounts.order_by(order, "name", "pk")


def status_counts(filters: ListFilters, day: date | None) -> dict:
    """How many accounts the other filters select, active and churned (one query): the count line
    says which the list shows ("276 active accounts · 24 churned not shown")."""
    today = day or timezone.localdate()
    churned = Q(churned_on__isnull=False, churned_on__lte=today)
    row = filtered(filters, day).order_by().aggregate(total=Count("pk"), churned=Count("pk", filter=churned))
    return {"active": row["total"] - row["churned"], "churned": row["churned"], "total": row["total"]}


def list_csv_lines(accounts: QuerySet[Account], day: date) -> Iterator[str]:
    """The list's CSV: the SPEC §4.6 export of the selected accounts (same columns, same order by
    external_id) with the owner, the renewal date, the days to renewal and the status appended;
    written by the product's one formula-safe writer."""
    base = accounts.order_by("external_id")
    extra = base.values_list("owner__email", "renewal_date", "churned_on").iterator(chunk_size=2000)

    def rows():
        for row, (owner, renewal, churned_on) in zip(export_rows(base, day), extra, strict=True):
            churned = churned_on is not None and churned_on <= day
            days = (renewal - day).days if renewal else ""
            yield [*row, owner or "", renewal.isoformat() if renewal else "", days, "churned" if churned else "active"]

    return csv.lines(LIST_CSV_COLUMNS, rows())


def with_member_health(stays: QuerySet, day: date | None) -> QuerySet:
    """Segment stays with their account's health on `day` in the same query: score_now, band_now,
    change_30d and inactive_days (NULL without a result that day)."""
    if day is None:
        return stays
    return stays.annotate(
        now=FilteredRelation("account__health_scores", condition=Q(account__health_scores__as_of=day)),
        day_metrics=FilteredRelation("account__metrics", condition=Q(account__metrics__as_of=day)),
    ).annotate(
        score_now=F("now__score"),
        band_now=F("now__band"),
        change_30d=ExpressionWrapper(F("now__score") - F("now__score_30d_ago"), output_field=IntegerField()),
        inactive_days=F("day_metrics__days_since_last_activity"),
    )
