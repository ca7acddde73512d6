"""import_usage against its floor, on the same file in one run.

    .venv/bin/python benchmarks/bench_import_usage.py --accounts 50000 100000

For each N: N accounts (imported with `import_accounts`) and ≈90 usage rows each over 90 days,
two features a day out of six (the generator of bench_recompute.py, written as a CSV by
PostgreSQL so that making the file costs seconds, not minutes). Then, each step after a
CHECKPOINT so that no step pays for the WAL of the one before:

- floor: what PostgreSQL itself needs to land the file — COPY into a temporary table with typed
  columns, resolve account and feature keys with joins, `INSERT … SELECT` into a durable (logged)
  table whose primary key is (account, date, feature). Run twice; the faster run is the floor.
- `manage.py import_usage` into the empty usage table (all rows new), then the same file again
  (every row already there: the re-import path).

Ratios are against the faster floor run.

The commands run as in production, with a broker (`--broker`, a Redis database flushed before and
after, no worker on it): the incremental run their dirty marks schedule (SPEC §4.5) is queued for
a worker, as it would be, not run inside the measured command. Without a broker (Celery eager, the
embedded demo) each import would also re-score every account it touched before exiting.
"""

import argparse
import csv
import os
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redis  # noqa: E402
from _common import OUT, bytecode_compiled, connect, fresh_database, manage, timed  # noqa: E402

FEATURES = ["scheduling", "reminders", "calendar_sync", "video_rooms", "round_robin", "booking_pages"]

# bench_recompute.py's generator: 45 active days out of 90, two features a day (≈90 rows per
# account), numbers varying with the account.
USAGE_SQL = """
COPY (
    SELECT a.external_id AS account_external_id, to_char(%(today)s::date - d, 'YYYY-MM-DD') AS date,
           (ARRAY{features})[1 + (a.id + d + k * 2) %% 6] AS feature,
           1 + (a.id * d + k) %% 30 AS events, 1 + (a.id + d) %% 40 AS active_users
    FROM accounts_account a, generate_series(0, 89) d, generate_series(0, 1) k
    WHERE (a.id * 31 + d * 17) %% 2 = 0
    ORDER BY a.id, d, k
) TO STDOUT WITH (FORMAT csv, HEADER true)
"""

FLOOR_SQL = [
    """CREATE TEMPORARY TABLE floor_staging (account_external_id text, date date, feature text,
                                              events integer, active_users integer) ON COMMIT DROP""",
    "COPY floor_staging FROM STDIN WITH (FORMAT csv, HEADER true)",
    """INSERT INTO floor_usage (account_id, date, feature_id, events, active_users)
       SELECT a.id, s.date, f.id, s.events, s.active_users
       FROM floor_staging s
       JOIN accounts_account a ON a.external_id = s.account_external_id
       JOIN accounts_feature f ON f.key = s.feature""",
]


def write_accounts(path: Path, n: int) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "external_id",
                "name",
                "vertical",
                "use_cases",
                "arr",
                "owner_email",
                "employees",
                "persona",
                "seats",
                "start_date",
                "renewal_date",
            ]
        )
        for i in range(n):
            w.writerow(
                [
                    f"A{i:07d}",
                    f"Account {i}",
                    f"Vertical {i % 5}",
                    "Use case A;Use case B",
                    1000 + (i * 7919) % 150000,
                    f"csm{i % 20}@example.com",
                    100,
                    "manager",
                    50,
                    "2024-01-01",
                    "2027-01-01",
                ]
            )


def write_usage(conn, path: Path) -> int:
    """Writes the usage CSV of the accounts in `conn`'s database (USAGE_SQL, through PostgreSQL),
    adding the features it names; returns its rows."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO accounts_feature (key, name) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
            [(f, f.replace("_", " ").capitalize()) for f in FEATURES],
        )
        with path.open("w") as fh:
            cur.copy_expert(cur.mogrify(USAGE_SQL.format(features=FEATURES), {"today": date.today()}).decode(), fh)
    with path.open("rb") as fh:
        return sum(1 for _ in fh) - 1


def floor(conn, usage_csv: Path) -> int:
    """COPY into a temporary table, resolve keys, INSERT … SELECT into a durable keyed table."""
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS floor_usage")
        cur.execute(
            """CREATE TABLE floor_usage (account_id bigint NOT NULL, date date NOT NULL,
                   feature_id bigint NOT NULL, events integer NOT NULL, active_users integer NOT NULL,
                   PRIMARY KEY (account_id, date, feature_id))"""
        )
        cur.execute("CHECKPOINT")
    conn.autocommit = False
    with conn.cursor() as cur, usage_csv.open("rb") as fh:
        cur.execute(FLOOR_SQL[0])
        cur.copy_expert(FLOOR_SQL[1], fh, 1 << 20)
        cur.execute(FLOOR_SQL[2])
        rows = cur.rowcount
    conn.commit()
    conn.autocommit = True
    return rows


def run(n: int, database: str, broker: str) -> dict[str, float]:
    results: dict[str, float] = {}
    print(f"\nimport_usage benchmark: {n:,} accounts", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    accounts_csv, usage_csv = OUT / f"import_accounts_{n}.csv", OUT / f"import_usage_{n}.csv"
    write_accounts(accounts_csv, n)
    url = fresh_database(database)
    queue = redis.Redis.from_url(broker)
    queue.flushdb()
    with_broker = {"REDIS_URL": broker}
    with timed("import_accounts", results):
        manage("import_accounts", str(accounts_csv), url=url, env=with_broker)
    conn = connect(url)
    rows = write_usage(conn, usage_csv)
    size = usage_csv.stat().st_size
    print(f"  {rows:,} usage rows, {size / 1e6:.0f} MB", flush=True)

    def checkpoint():
        with conn.cursor() as cur:
            cur.execute("CHECKPOINT")

    with timed("floor, run 1", results):
        assert floor(conn, usage_csv) == rows
    checkpoint()
    with timed("import_usage (all rows new)", results):
        print("   ", manage("import_usage", str(usage_csv), url=url, env=with_broker), flush=True)
    with timed("floor, run 2", results):
        assert floor(conn, usage_csv) == rows
    checkpoint()
    with timed("import_usage again (all rows there)", results):
        print("   ", manage("import_usage", str(usage_csv), url=url, env=with_broker), flush=True)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounts_usagedaily")
        assert cur.fetchone()[0] == rows
        cur.execute("SELECT pg_total_relation_size('accounts_usagedaily'), pg_total_relation_size('floor_usage')")
        product_bytes, floor_bytes = cur.fetchone()
        cur.execute("DROP TABLE floor_usage")
    conn.close()
    queue.flushdb()  # the incremental runs the imports queued: no worker takes them here
    results["floor"] = min(results["floor, run 1"], results["floor, run 2"])
    print(
        f"\n  {n:,} accounts, {rows:,} rows; usage table {product_bytes / 1e6:.0f} MB (floor table {floor_bytes / 1e6:.0f} MB)"
    )
    print(f"  {'':38} {'seconds':>8} {'rows/s':>12} {'× floor':>8}")
    for label in ("floor, run 1", "floor, run 2", "import_usage (all rows new)", "import_usage again (all rows there)"):
        print(
            f"  {label:38} {results[label]:8.1f} {rows / results[label]:12,.0f} {results[label] / results['floor']:8.2f}"
        )
    usage_csv.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, nargs="+", default=[50000, 100000])
    parser.add_argument("--database", default="cs_portal_bench_import_usage")
    parser.add_argument("--broker", default=os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()
    bytecode_compiled()  # the measured processes start as a deployment's do
    for n in args.accounts:
        run(n, args.database, args.broker)


if __name__ == "__main__":
    main()
