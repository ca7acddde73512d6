"""Reads for the revenue and vertical dashboards (aggregated in SQL; no per-account queries)."""

from datetime import date
from decimal import Decimal

from accounts.models import Account
from accounts.selectors import revenue_by_vertical


def concentration(day: date, share: int = 40) -> dict:
    """How few accounts make `share`% of active ARR ("12 accounts are 40% of ARR").

    Counted in the database, not by loading every ARR: with accounts by ARR, largest first (read
    in order from the ARR index), the count is the number whose running total *before* them is
    still under `share`% of the total. Ties in ARR don't change the count, whatever their order.
    """
    from django.db import connection

    active = Account.objects.active_on(day).filter(arr__gt=0).order_by()
    accounts, params = active.values_list("arr").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COUNT(*) FILTER (WHERE (running - arr) * 100 < total * %s), COUNT(*), MAX(total)
                FROM (SELECT arr, SUM(arr) OVER (ORDER BY arr DESC ROWS UNBOUNDED PRECEDING) AS running,
                             (SELECT SUM(arr) FROM ({accounts}) every) AS total
                      FROM ({accounts}) accounts) running""",
            [share, *params, *params],
        )
        count, of_accounts, total_arr = cursor.fetchone()
    total_arr = Decimal(str(total_arr)).quantize(Decimal("0.01")) if total_arr is not None else Decimal(0)
    return {"share": share, "accounts": count, "of_accounts": of_accounts, "total_arr": total_arr}


def revenue_overview(day: date | None) -> dict:
    from django.utils.functional import SimpleLazyObject

    verticals = revenue_by_vertical(day)
    return {
        "as_of": day,
        "verticals": verticals,
        "total_arr": sum((v["arr"] for v in verticals), Decimal(0)),
        "arr_at_risk": sum((v["arr_at_risk"] for v in verticals), Decimal(0)),
        "accounts": sum(v["accounts"] for v in verticals),
        # Computed when a page shows it (/revenue/), not for /verticals/ or the CSV.
        "concentration": SimpleLazyObject(lambda: concentration(day or date.today())),
    }
