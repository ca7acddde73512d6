"""import_usage throughput against the floor: PostgreSQL's own COPY of the same file.

    .venv/bin/python benchmarks/bench_import_usage.py --accounts 50000

Generates N accounts with ≈90 usage rows each over 90 days (several features, weekday-heavy),
imports the accounts, then times `manage.py import_usage` on a fresh table (all inserts) and again
(all updates), next to `COPY` of the same CSV into a plain table with the same columns.
"""

import argparse
import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, connect, fresh_database, manage, timed  # noqa: E402

FEATURES = ["scheduling", "reminders", "calendar_sync", "video_rooms", "round_robin", "booking_pages"]


def generate(n: int, today: date, seed: int) -> tuple[Path, Path, int]:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    accounts, usage = OUT / f"accounts_{n}.csv", OUT / f"usage_{n}.csv"
    with accounts.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["external_id", "name", "vertical", "use_cases", "arr", "owner_email", "employees", "persona",
                    "seats", "start_date", "renewal_date"])  # fmt: skip
        for i in range(n):
            w.writerow([f"A{i:07d}", f"Account {i}", f"Vertical {i % 5}", "Use case A;Use case B",
                        rng.randint(1000, 200000), f"csm{i % 20}@example.com", 100, "manager", 50,
                        "2024-01-01", "2027-01-01"])  # fmt: skip
    rows = 0
    days = [(today - timedelta(days=d)).isoformat() for d in range(90)]
    with usage.open("w", newline="") as fh:
        fh.write("account_external_id,date,feature,events,active_users\n")
        for i in range(n):
            ext = f"A{i:07d}"
            # 45 active days × 2 features ≈ 90 rows per account
            for day in rng.sample(days, 45):
                for feature in rng.sample(FEATURES, 2):
                    fh.write(f"{ext},{day},{feature},{rng.randint(1, 40)},{rng.randint(1, 30)}\n")
                    rows += 1
    return accounts, usage, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default="cs_portal_bench_import")
    args = parser.parse_args()
    results: dict[str, float] = {}
    print(f"import_usage benchmark: {args.accounts:,} accounts")
    with timed("generate CSVs", results):
        accounts_csv, usage_csv, rows = generate(args.accounts, date.today(), args.seed)
    print(f"  {rows:,} usage rows, {usage_csv.stat().st_size / 1e6:.0f} MB")
    url = fresh_database(args.database)
    with timed("import_accounts", results):
        manage("import_accounts", str(accounts_csv), url=url)

    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE copy_floor (account_external_id text, date date, feature text, events integer, active_users integer)")
        with timed("floor: COPY into a plain table", results), usage_csv.open() as fh:
            cur.copy_expert("COPY copy_floor FROM STDIN WITH (FORMAT csv, HEADER true)", fh)
        cur.execute("DROP TABLE copy_floor")

    with timed("import_usage (all new rows)", results):
        print("   ", manage("import_usage", str(usage_csv), url=url))
    with timed("import_usage again (all rows replaced)", results):
        print("   ", manage("import_usage", str(usage_csv), url=url))

    floor = results["floor: COPY into a plain table"]
    print()
    print(f"{'':40} {'seconds':>8} {'rows/s':>12} {'× floor':>8}")
    for label in ("floor: COPY into a plain table", "import_usage (all new rows)", "import_usage again (all rows replaced)"):
        print(f"{label:40} {results[label]:8.1f} {rows / results[label]:12,.0f} {results[label] / floor:8.2f}")
    conn.close()


if __name__ == "__main__":
    main()
