"""Reads for the revenue and vertical dashboards (aggregated in SQL; no per-account queries)."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import Account
from accounts.selectors import revenue_by_vertical
from health.models import Band
from segments.selectors import memberships_on


def concentration(day: date, share: int = 40) -> dict:
    """How few accounts make `share`% of active ARR ("12 accounts are 40% of ARR")."""
    arrs = list(Account.objects.active_on(day).filter(arr__gt=0).order_by("-arr").values_list("arr", flat=True))
    total = sum(arrs, Decimal(0))
    running, count = Decimal(0), 0
    for arr in arrs:
        if total and running * 100 >= total * share:
            break
        running += arr
        count += 1
    return {"share": share, "accounts": count, "of_accounts": len(arrs), "total_arr": total}


def revenue_overview(day: date | None) -> dict:
    verticals = revenue_by_vertical(day)
    return {
        "as_of": day,
        "verticals": verticals,
        "total_arr": sum((v["arr"] for v in verticals), Decimal(0)),
        "arr_at_risk": sum((v["arr_at_risk"] for v in verticals), Decimal(0)),
        "accounts": sum(v["accounts"] for v in verticals),
        "concentration": concentration(day or date.today()),
    }


# --- Risk: at-risk and slipping accounts ------------------------------------------------------

SLIPPING_POINTS = 15
SLIPPING_DAYS = 30


def _with_health(accounts: QuerySet[Account], **days: date) -> QuerySet[Account]:
    """Accounts joined (LEFT JOIN, one row each thanks to the unique (account, as_of) index) to
    their HealthScore on each named day: `_with_health(qs, now=d, then=d - 30)` → `now__score`…"""
    return accounts.annotate(
        **{name: FilteredRelation("health_scores", condition=Q(health_scores__as_of=day)) for name, day in days.items()}
    )


def risk_accounts(day: date, *, vertical: str = "", owner: str = "", segment: str = "", user=None) -> QuerySet[Account]:
    """Active accounts at risk on `day` or slipping (score down ≥ 15 points since 30 days before),
    largest ARR first, annotated with score/band now and then. Filters: vertical slug, owner id,
    segment slug; `user` narrows to that owner's book."""
    then = day - timedelta(days=SLIPPING_DAYS)
    accounts = _with_health(Account.objects.active_on(day), now=day, then=then)
    if vertical:
        accounts = accounts.filter(vertical__slug=vertical)
    if owner:
        accounts = accounts.filter(owner_id=owner)
    if user is not None:
        accounts = accounts.filter(owner=user)
    if segment:
        members = memberships_on(day).filter(segment__slug=segment).values("account_id")
        accounts = accounts.filter(pk__in=members)
    return (
        accounts.filter(Q(now__band=Band.AT_RISK) | Q(now__score__lte=F("then__score") - SLIPPING_POINTS))
        .annotate(
            score_now=F("now__score"),
            band_now=F("now__band"),
            score_then=F("then__score"),
        )
        .select_related("vertical", "owner")
        .order_by("-arr", "name", "pk")
    )


def risk_summary(accounts: QuerySet[Account]) -> dict:
    """Count and ARR of a risk list, split into at risk and slipping (one query)."""
    at_risk = Q(now__band=Band.AT_RISK)
    row = accounts.order_by().aggregate(
        n=Count("pk"),
        total_arr=Coalesce(Sum("arr"), Value(Decimal(0))),
        n_at_risk=Count("pk", filter=at_risk),
        at_risk_total_arr=Coalesce(Sum("arr", filter=at_risk), Value(Decimal(0))),
    )
    totals = {
        "accounts": row["n"],
        "arr": row["total_arr"],
        "at_risk": row["n_at_risk"],
        "at_risk_arr": row["at_risk_total_arr"],
        "slipping": row["n"] - row["n_at_risk"],
        "slipping_arr": row["total_arr"] - row["at_risk_total_arr"],
    }
    return totals


def days_until(day: date, other: date | None) -> int | None:
    return None if other is None else (other - day).days


def describe_risk_row(account: Account, day: date) -> Account:
    """Adds what a risk row shows beyond the query: days to renewal, score change, band label."""
    account.days_to_renewal = days_until(day, account.renewal_date)
    both = account.score_now is not None and account.score_then is not None
    account.score_change = account.score_now - account.score_then if both else None
    account.band_label = Band(account.band_now).label if account.band_now else Band.UNKNOWN.label
    return account


# --- Home: a CSM's book ------------------------------------------------------------------------

BANDS = ("healthy", "neutral", "at_risk", "unknown")


def book_by_vertical(user, day: date | None) -> list[dict]:
    """The user's active accounts per vertical with ARR and band counts on `day` (one query)."""
    today = day or date.today()
    accounts = _with_health(Account.objects.active_on(today).filter(owner=user), now=today)
    rows = (
        accounts.values("vertical__name", "vertical__slug")
        .annotate(
            accounts=Count("pk"),
            arr=Coalesce(Sum("arr"), Value(Decimal(0))),
            healthy=Count("pk", filter=Q(now__band=Band.HEALTHY)),
            neutral=Count("pk", filter=Q(now__band=Band.NEUTRAL)),
            at_risk=Count("pk", filter=Q(now__band=Band.AT_RISK)),
        )
        .order_by("-arr", "vertical__name")
    )
    out = []
    for r in rows:
        mix = {b: r[b] for b in BANDS[:3]}
        mix["unknown"] = r["accounts"] - sum(mix.values())
        out.append(
            {
                "vertical": r["vertical__name"],
                "slug": r["vertical__slug"],
                "accounts": r["accounts"],
                "arr": r["arr"],
                "health_mix": mix,
            }
        )
    return out


def my_at_risk(user, day: date, *, limit: int = 10) -> list[Account]:
    """The user's accounts in the at-risk band on `day`, largest ARR first (top `limit`)."""
    then = day - timedelta(days=SLIPPING_DAYS)
    accounts = _with_health(Account.objects.active_on(day).filter(owner=user), now=day, then=then)
    return list(
        accounts.filter(now__band=Band.AT_RISK)
        .annotate(score_now=F("now__score"), band_now=F("now__band"), score_then=F("then__score"))
        .select_related("vertical")
        .order_by("-arr", "name", "pk")[:limit]
    )


# A band "drops" when it moves down the ladder healthy → neutral → at risk.
BAND_DROPS = Q(then__band=Band.HEALTHY, now__band__in=[Band.NEUTRAL, Band.AT_RISK]) | Q(
    then__band=Band.NEUTRAL, now__band=Band.AT_RISK
)


def band_drops(user, day: date, *, days: int = 7, limit: int = 20) -> list[Account]:
    """The user's accounts whose band dropped between `days` days before `day` and `day`."""
    accounts = _with_health(Account.objects.active_on(day).filter(owner=user), now=day, then=day - timedelta(days=days))
    dropped = list(
        accounts.filter(BAND_DROPS)
        .annotate(
            score_now=F("now__score"), band_now=F("now__band"), score_then=F("then__score"), band_then=F("then__band")
        )
        .select_related("vertical")
        .order_by("-arr", "name", "pk")[:limit]
    )
    for account in dropped:
        account.band_then_label, account.band_now_label = Band(account.band_then).label, Band(account.band_now).label
    return dropped


def drivers_without_usage(user, day: date, *, limit: int = 20) -> list:
    """Say vs do for a book: stated drivers of the user's active accounts whose feature had no
    events in the 90 days up to `day` (one query; the usage sum is an indexed subquery per driver)."""
    from accounts.models import StatedDriver, UsageDaily

    events = (
        UsageDaily.objects.filter(
            account=OuterRef("account"), feature=OuterRef("feature"), date__range=(day - timedelta(days=89), day)
        )
        .values("account")
        .annotate(total=Sum("events"))
        .values("total")
    )
    return list(
        StatedDriver.objects.filter(account__in=Account.objects.active_on(day).filter(owner=user).values("pk"))
        .annotate(events_90d=Coalesce(Subquery(events), 0))
        .filter(events_90d=0)
        .select_related("account", "feature")
        .order_by("-account__arr", "account__name", "feature__name")[:limit]
    )


def leader_summary(day: date | None) -> dict:
    """The home of leaders and admins: the revenue overview plus the risk list's totals."""
    overview = revenue_overview(day)
    risk = risk_summary(risk_accounts(day)) if day else None
    return {**overview, "top_verticals": overview["verticals"][:5], "risk": risk}
