"""Usage metrics of SPEC §5.1 for a range of accounts as of a date, in one pass over the year.

One grouped query reads every usage row of the 365-day window once; conditional aggregates
(FILTER) give each window's figures, and one column per journey feature gives the 90-day event
sums the journeys need. Window bounds are computed here and passed as parameters, so the SQL
runs unchanged on PostgreSQL and SQLite.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from django.db import connection

from accounts.models import Account, NpsResponse, UsageDaily
from core.db import settings_local

# A chunk's grouped query reads its accounts' rows in key order (account, date, feature) from the
# primary key and aggregates them as they come, in one process. The default plan (a parallel
# bitmap scan, sorted by account on disk past work_mem, gathered from two more processes) took
# about as long alone and half again to twice the CPU, which the chunks computing beside it need;
# computed alone (one chunk at a time), the parallel plan uses the cores nothing else does.
ONE_PROCESS_IN_KEY_ORDER = {"max_parallel_workers_per_gather": "0", "enable_bitmapscan": "off", "enable_sort": "off"}


@dataclass
class AccountFacts:
    """What the engine knows of one account as of D: its fields and its usage metrics."""

    account_id: int
    vertical_id: int
    primary_use_case_id: int | None
    arr: object
    seats: int | None
    start_date: date | None
    churned_on: date | None
    metrics: dict = field(default_factory=dict)
    feature_events_90d: dict[int, int] = field(default_factory=dict)


def window_start(as_of: date, days: int) -> date:
    """First day of a window of `days` days ending on `as_of` (inclusive)."""
    return as_of - timedelta(days=days - 1)


def _month_expr() -> str:
    if connection.vendor == "postgresql":
        return "date_trunc('month', date)"
    return "strftime('%%Y-%%m', date)"


def _only(account_ids: list[int] | None) -> tuple[str, list]:
    """An extra `AND account_id IN …` for the incremental run (its dirty accounts of the range)."""
    if account_ids is None:
        return "", []
    if connection.vendor == "postgresql":
        return " AND account_id = ANY(%s)", [list(account_ids)]
    return f" AND account_id IN ({', '.join('%s' for _ in account_ids) or 'NULL'})", list(account_ids)


def compute_facts(
    as_of: date,
    first_id: int,
    last_id: int,
    journey_features: list[int],
    account_ids: list[int] | None = None,
    *,
    parallel_query: bool = False,
) -> list[AccountFacts]:
    """Facts and metrics of the accounts with id in [first_id, last_id] (and, given `account_ids`,
    among those), as of `as_of`. With `parallel_query` (no other chunk computes meanwhile) the
    grouped query is planned as PostgreSQL likes, else ONE_PROCESS_IN_KEY_ORDER. The same
    statements either way, so a subset's rows equal a full range's rows for the same accounts."""
    accounts = Account.objects.filter(pk__gte=first_id, pk__lte=last_id)
    if account_ids is not None:
        accounts = accounts.filter(pk__in=account_ids)
    only, only_params = _only(account_ids)
    accounts = accounts.order_by("pk").values_list(
        "pk", "vertical_id", "primary_use_case_id", "arr", "seats", "start_date", "churned_on"
    )
    facts = {row[0]: AccountFacts(*row) for row in accounts}
    if not facts:
        return []

    d30, d90, d365 = window_start(as_of, 30), window_start(as_of, 90), window_start(as_of, 365)
    feature_columns = "".join(", SUM(events) FILTER (WHERE date >= %s AND feature_id = %s)" for _ in journey_features)
    feature_params = [p for f in journey_features for p in (d90, f)]
    usage = UsageDaily._meta.db_table
    sql = f"""
        SELECT account_id,
               COUNT(DISTINCT date) FILTER (WHERE events > 0 AND date >= %s),
               COUNT(DISTINCT date) FILTER (WHERE events > 0 AND date >= %s),
               COUNT(DISTINCT date) FILTER (WHERE events > 0),
               COUNT(DISTINCT {_month_expr()}) FILTER (WHERE events > 0),
               SUM(events) FILTER (WHERE date >= %s),
               MAX(active_users) FILTER (WHERE date >= %s),
               COUNT(DISTINCT feature_id) FILTER (WHERE events > 0 AND date >= %s),
               MAX(date) FILTER (WHERE events > 0)
               {feature_columns}
        FROM {usage}
        WHERE account_id BETWEEN %s AND %s AND date BETWEEN %s AND %s{only}
        GROUP BY account_id
    """
    params = [d30, d90, d30, d30, d90, *feature_params, first_id, last_id, d365, as_of, *only_params]
    last_active: dict[int, date] = {}
    with connection.cursor() as cursor:
        with settings_local(**({} if parallel_query else ONE_PROCESS_IN_KEY_ORDER)):
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        for row in rows:
            f = facts.get(row[0])
            if f is None:
                continue
            f.metrics.update(
                active_days_30d=row[1] or 0,
                active_days_90d=row[2] or 0,
                active_days_365d=row[3] or 0,
                active_months_365d=row[4] or 0,
                events_30d=row[5] or 0,
                active_users_30d=row[6] or 0,
                features_used_90d=row[7] or 0,
            )
            if row[8] is not None:
                last_active[row[0]] = _as_date(row[8])
            f.feature_events_90d = {fid: (row[9 + i] or 0) for i, fid in enumerate(journey_features)}

        # Accounts quiet all year: their last activity, if any, is older than the window.
        quiet = [pk for pk in facts if pk not in last_active]
        if quiet:
            cursor.execute(
                f"SELECT account_id, MAX(date) FROM {usage} WHERE account_id BETWEEN %s AND %s"
                f" AND date < %s AND events > 0{only} GROUP BY account_id",
                [first_id, last_id, d365, *only_params],
            )
            for account_id, day in cursor.fetchall():
                if account_id in facts and account_id not in last_active:
                    last_active[account_id] = _as_date(day)

        nps = NpsResponse._meta.db_table
        cursor.execute(
            f"""SELECT n.account_id, n.score FROM {nps} n
                JOIN (SELECT account_id, MAX(date) AS d FROM {nps}
                      WHERE account_id BETWEEN %s AND %s AND date <= %s{only} GROUP BY account_id) latest
                  ON latest.account_id = n.account_id AND latest.d = n.date""",
            [first_id, last_id, as_of, *only_params],
        )
        nps_latest = dict(cursor.fetchall())

    for pk, f in facts.items():
        m = f.metrics
        for key in (
            "active_days_30d",
            "active_days_90d",
            "active_days_365d",
            "active_months_365d",
            "events_30d",
            "active_users_30d",
            "features_used_90d",
        ):
            m.setdefault(key, 0)
        m["seat_utilization_30d"] = Fraction(100 * m["active_users_30d"], f.seats) if f.seats else None
        if pk in last_active:
            m["days_since_last_activity"] = (as_of - last_active[pk]).days
        elif f.start_date is not None:
            m["days_since_last_activity"] = (as_of - f.start_date).days
        else:
            m["days_since_last_activity"] = None
        m["nps_latest"] = nps_latest.get(pk)
    return list(facts.values())


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
