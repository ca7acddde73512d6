"""Reads for the revenue and vertical dashboards (aggregated in SQL; no per-account queries)."""

from datetime import date
from decimal import Decimal

from accounts.models import Account
from accounts.selectors import revenue_by_vertical


def concentration(day: date, share: int = 40, *, total: Decimal | None = None) -> dict:
    """How few accounts make `share`% of active ARR ("12 accounts are 40% of ARR").

    `total` is the active ARR when the caller has it already (revenue_overview does). The accounts
    come largest ARR first straight from the ARR index (an index-only scan); only the few thousand
    that make the share are read into Python, not one Decimal per account.
    """
    from django.db import connection
    from django.db.models import Sum

    active = Account.objects.active_on(day).filter(arr__gt=0)
    if total is None:
        total = active.aggregate(total=Sum("arr"))["total"] or Decimal(0)
    sql, params = active.order_by("-arr").values_list("arr").query.sql_with_params()
    count = fetched = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        running, reached = Decimal(0), False
        while not reached and (rows := cursor.fetchmany(2000)):
            fetched += len(rows)
            for (arr,) in rows:
                if running * 100 >= total * share:
                    reached = True
                    break
                running += Decimal(str(arr))
                count += 1
        # PostgreSQL reports the number of rows; SQLite (-1) only by reading them.
        of_accounts = cursor.rowcount if cursor.rowcount >= 0 else fetched + len(cursor.fetchall())
    return {"share": share, "accounts": count, "of_accounts": of_accounts, "total_arr": total}


def revenue_overview(day: date | None) -> dict:
    from django.utils.functional import SimpleLazyObject

    verticals = revenue_by_vertical(day)
    total_arr = sum((v["arr"] for v in verticals), Decimal(0))
    return {
        "as_of": day,
        "verticals": verticals,
        "total_arr": total_arr,
        "arr_at_risk": sum((v["arr_at_risk"] for v in verticals), Decimal(0)),
        "accounts": sum(v["accounts"] for v in verticals),
        # Computed when a page shows it (/revenue/), not for /verticals/ or the CSV.
        "concentration": SimpleLazyObject(lambda: concentration(day or date.today(), total=total_arr)),
    }
