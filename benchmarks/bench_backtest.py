"""Backtest time at 100,000 accounts over a year of daily results (12 observation dates).

    .venv/bin/python benchmarks/bench_backtest.py --accounts 100000          # the rows the backtest reads
    .venv/bin/python benchmarks/bench_backtest.py --accounts 100000 --full   # every daily row (36.5M, slow to load)

Loads N accounts over five verticals (a scorecard each, plus 'Everyone' for --compare), their ARR
history (two entries each) and churn (one in 7 churns during the year, scoring lower in the
90 days before) straight into a fresh PostgreSQL database with generate_series, then times
`manage.py backtest --json --step 23` (from 2025-07-01 to 2026-06-30 with the default 90-day
horizon, step 23 gives 12 observation dates) and the same with `--compare Everyone`.

What is loaded, to spare the shared cores: by default HealthScore and AccountMetrics rows only for
the 12 observation dates, the latest date and one date a week in between (~64 dates, 6.4M
health rows): the backtest reads the observation dates' rows and finds the published dates with
a skip scan whose cost grows with the number of dates, not rows. `--full` loads every day of the
year (36.5M health rows and as many metrics rows), the honest version.
"""

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SERVER, connect, fresh_database, manage, timed  # noqa: E402

VERTICALS = ["Education", "Tech Sales", "Recruiting", "Customer Success", "Healthcare"]
FIRST, LATEST, STEP = date(2025, 7, 1), date(2026, 6, 30), 23


def config_sql(cur) -> dict:
    cur.execute(
        "INSERT INTO accounts_vertical (name, slug, description) SELECT v, lower(replace(v, ' ', '-')), '' "
        "FROM unnest(%s::text[]) v",
        [VERTICALS],
    )
    cur.execute("SELECT id, name FROM accounts_vertical")
    verticals = {name: pk for pk, name in cur.fetchall()}
    scorecards = {}
    for name, vertical in [*((v, verticals[v]) for v in VERTICALS), ("Everyone", None)]:
        cur.execute(
            "INSERT INTO health_scorecard (name, vertical_id, use_case_id, active, healthy_at, at_risk_below) "
            "VALUES (%s, %s, NULL, %s, 70, 40) RETURNING id",
            [name, vertical, vertical is not None],
        )
        sc = cur.fetchone()[0]
        scorecards[name] = sc
        for pos, (metric, red, green) in enumerate(
            [("active_days_30d", 2, 20), ("days_since_last_activity", 30, 2), ("seat_utilization_30d", 10, 80)]
        ):
            cur.execute(
                "INSERT INTO health_measure (scorecard_id, metric, weight, red, green, position) VALUES (%s, %s, 1, %s, %s, %s)",
                [sc, metric, red, green, pos],
            )
    return {"verticals": verticals, "scorecards": scorecards}


def load(cur, n: int, days: list[date]) -> None:
    ids = config_sql(cur)
    vertical_ids = [ids["verticals"][v] for v in VERTICALS]
    scorecard_ids = [ids["scorecards"][v] for v in VERTICALS]
    cur.execute(
        f"""INSERT INTO accounts_account (external_id, name, vertical_id, arr, employees, persona, seats, start_date,
                renewal_date, churned_on, created_at, updated_at)
            SELECT 'B' || g, 'Account ' || g, (ARRAY{vertical_ids})[1 + g %% 5], round((1000 + (g * 7919) %% 150000)::numeric, 2),
                   100, 'manager', 10 + g %% 90, DATE '2024-01-01', DATE '2026-12-31',
                   CASE WHEN g %% 7 = 0 THEN %s::date + ((g * 37) %% 365)::int END, now(), now()
            FROM generate_series(1, %s) g""",
        [FIRST, n],
    )
    cur.execute(
        """INSERT INTO accounts_arrchange (account_id, date, arr, previous_arr)
           SELECT id, DATE '2025-01-01' + (id % 200)::int, arr * 0.9, NULL FROM accounts_account
           UNION ALL
           SELECT id, DATE '2025-09-01' + (id % 200)::int, arr, arr * 0.9 FROM accounts_account"""
    )
    # A score that drops in the 90 days before churn (and varies with the account otherwise).
    score = """greatest(0, least(100, 30 + (a.id * 7919 + d.n * 13) %% 70
                 - CASE WHEN a.churned_on > d.day AND a.churned_on <= d.day + 90 THEN 20 ELSE 0 END))"""
    cur.execute(
        f"""INSERT INTO health_healthscore (account_id, as_of, score, band, scorecard_id, measures, touch_model)
            SELECT a.id, d.day, CASE WHEN a.churned_on <= d.day THEN NULL ELSE s.score END,
                   CASE WHEN a.churned_on <= d.day THEN 'churned' WHEN s.score >= 70 THEN 'healthy'
                        WHEN s.score < 40 THEN 'at_risk' ELSE 'neutral' END,
                   CASE WHEN a.churned_on <= d.day THEN NULL ELSE (ARRAY{scorecard_ids})[1 + a.id %% 5] END, '[]', ''
            FROM unnest(%s::date[]) WITH ORDINALITY d(day, n)
            CROSS JOIN accounts_account a
            CROSS JOIN LATERAL (SELECT {score} AS score) s""",
        [days],
    )
    cur.execute(
        f"""INSERT INTO health_accountmetrics (account_id, as_of, active_days_30d, active_days_90d, active_days_365d,
                active_months_365d, events_30d, active_users_30d, seat_utilization_30d, features_used_90d,
                days_since_last_activity)
            SELECT a.id, d.day, s.score * 30 / 100, s.score * 90 / 100, s.score * 3, 1 + s.score / 10, s.score * 10,
                   1 + s.score / 5, s.score * 0.9, 1 + s.score / 25, (100 - s.score) / 3
            FROM unnest(%s::date[]) WITH ORDINALITY d(day, n)
            CROSS JOIN accounts_account a
            CROSS JOIN LATERAL (SELECT {score} AS score) s
            WHERE a.churned_on IS NULL OR a.churned_on > d.day""",
        [days],
    )
    cur.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100000)
    parser.add_argument("--database", default="cs_portal_bench_backtest")
    parser.add_argument("--full", action="store_true", help="every daily row of the year (36.5M at 100k accounts)")
    parser.add_argument("--reuse", action="store_true", help="time the backtest on the database a previous run loaded")
    args = parser.parse_args()
    every = [FIRST + timedelta(days=k) for k in range((LATEST - FIRST).days + 1)]
    if args.full:
        days = every
    else:
        observed = {FIRST + timedelta(days=STEP * k) for k in range(12)}
        days = sorted(observed | {LATEST} | {d for d in every if d.weekday() == 0})
    results: dict[str, float] = {}
    print(f"backtest benchmark: {args.accounts:,} accounts, {len(days)} days of results")
    url = f"{SERVER}/{args.database}" if args.reuse else fresh_database(args.database)
    conn = connect(url)
    with conn.cursor() as cur, timed("load (generate_series)", results):
        if not args.reuse:
            load(cur, args.accounts, days)
        cur.execute("SELECT count(*) FROM health_healthscore")
        print(f"  {cur.fetchone()[0]:,} health rows")
    base = ["backtest", "--json", "--step", str(STEP)]
    manage(*base, url=url)  # warm the cache once
    with timed("backtest --json", results):
        out = manage(*base, url=url)
    report = json.loads(out)
    print(
        f"  {len(report['observation_dates'])} observation dates; overall AUC {report['overall']['auc']}, lift {report['overall']['lift']}"
    )
    with timed("backtest --json --compare Everyone", results):
        out = manage(*base, "--compare", "Everyone", url=url)
    print("  compare:", json.loads(out)["compare"]["by_vertical"][:2])
    print()
    for label in ("backtest --json", "backtest --json --compare Everyone"):
        print(f"{label:40} {results[label]:6.1f} s  (goal < 10 s)")
    conn.close()


if __name__ == "__main__":
    main()
