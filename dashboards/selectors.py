"""Reads for the revenue and vertical dashboards (aggregated in SQL; no per-account queries)."""

from datetime import date
from decimal import Decimal

from accounts.models import Account
from accounts.selectors import revenue_by_vertical


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
