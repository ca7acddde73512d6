"""Recompute time against the floor: one GROUP BY pass computing the §5.1 activity metrics.

    .venv/bin/python benchmarks/bench_recompute.py --accounts 50000 100000 [--workers 2]

Loads N accounts over five verticals with ~90 usage rows each (90 days) straight into PostgreSQL
with generate_series, applies a realistic configuration (a scorecard per vertical, tiers, journeys
and 10 segments), then times `manage.py recompute` (metrics, journeys, health, segments, history
written; its peak RSS measured by /usr/bin/time) next to the floor query over the same rows, in
--rounds rounds of one floor query and one recompute taken in turn (best and median of each
side compared), then once with RECOMPUTE_JOBS=1.
With --workers N, the largest size also runs through N real Celery workers (Redis at --broker).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    OUT,
    ROOT,
    bytecode_compiled,
    celery_worker,
    connect,
    fresh_database,
    manage,
    manage_env,
    timed,
)

VERTICALS = ["Education", "Tech Sales", "Recruiting", "Customer Success", "Healthcare"]
FEATURES = [
    "scheduling",
    "reminders",
    "calendar_sync",
    "video_rooms",
    "round_robin",
    "booking_pages",
    "crm_sync",
    "analytics",
]


def config() -> dict:
    use_cases = [f"{v} use case {i}" for v in VERTICALS for i in range(3)]
    measure_sets = [
        [("active_months_365d", 3, 1, 4), ("active_days_365d", 2, 2, 12), ("days_since_last_activity", 1, 200, 90)],
        [("active_days_30d", 3, 5, 18), ("seat_utilization_30d", 2, 20, 70), ("events_30d", 1, 20, 200)],
        [("active_days_90d", 2, 8, 30), ("features_used_90d", 1, 1, 4), ("days_since_last_activity", 1, 30, 5)],
        [("active_days_90d", 2, 10, 45), ("seat_utilization_30d", 1, 15, 60), ("nps_latest", 1, 5, 9)],
        [("active_days_90d", 2, 5, 22), ("days_since_last_activity", 1, 45, 7), ("journey_progress", 1, 0, 100)],
    ]
    return {
        "version": 1,
        "verticals": [{"name": v} for v in VERTICALS],
        "use_cases": [{"name": u} for u in use_cases],
        "features": [{"key": f} for f in FEATURES],
        "tiers": [
            {"name": "Tier 1", "min_arr": 100000},
            {"name": "Tier 2", "min_arr": 20000},
            {"name": "Tier 3", "min_arr": 0},
        ],
        "scorecards": [
            {
                "name": v,
                "vertical": v,
                "measures": [{"metric": m, "weight": w, "red": r, "green": g} for m, w, r, g in ms],
            }
            for v, ms in zip(VERTICALS, measure_sets, strict=True)
        ],
        "journeys": [
            {
                "vertical": v,
                "use_case": f"{v} use case 0",
                "stages": [
                    {"name": "Started", "features": ["scheduling"], "min_events_90d": 1},
                    {"name": "Reminding", "features": ["reminders"], "min_events_90d": 5},
                    {"name": "Connected", "features": ["calendar_sync", "crm_sync"], "min_events_90d": 3},
                ],
            }
            for v in VERTICALS
        ],
        "segments": [
            {
                "name": "Strategic",
                "touch_model": "high",
                "priority": 100,
                "rule": {"field": "arr", "op": "gte", "value": 100000},
            },
            {
                "name": "At risk renewing",
                "touch_model": "high",
                "priority": 90,
                "rule": {
                    "all": [
                        {"field": "health_band", "op": "eq", "value": "at_risk"},
                        {"field": "days_to_renewal", "op": "between", "value": [0, 90]},
                    ]
                },
            },
            {
                "name": "Mid-market",
                "touch_model": "mid",
                "priority": 50,
                "rule": {"field": "tier", "op": "eq", "value": "Tier 2"},
            },
            {
                "name": "Long tail",
                "touch_model": "self_service",
                "priority": 10,
                "rule": {"field": "tier", "op": "eq", "value": "Tier 3"},
            },
            {
                "name": "Education quiet",
                "rule": {
                    "all": [
                        {"field": "vertical", "op": "eq", "value": "Education"},
                        {"field": "days_since_last_activity", "op": "gt", "value": 30},
                    ]
                },
            },
            {
                "name": "Sales slipping",
                "rule": {
                    "all": [
                        {"field": "vertical", "op": "eq", "value": "Tech Sales"},
                        {"field": "active_days_30d", "op": "lt", "value": 8},
                    ]
                },
            },
            {
                "name": "Low utilization",
                "rule": {
                    "all": [
                        {"field": "seat_utilization_30d", "op": "lt", "value": 30},
                        {"not": {"field": "vertical", "op": "in", "value": ["Education", "Healthcare"]}},
                    ]
                },
            },
            {
                "name": "Multi use case",
                "rule": {"field": "use_case", "op": "in", "value": ["Education use case 1", "Tech Sales use case 2"]},
            },
            {
                "name": "Healthy big",
                "rule": {
                    "all": [
                        {"field": "health_band", "op": "eq", "value": "healthy"},
                        {"field": "arr", "op": "gt", "value": 50000},
                    ]
                },
            },
            {"name": "Journey started", "rule": {"field": "journey_stage", "op": "not_null"}},
        ],
    }


def load(cur, n: int, as_of: date) -> int:
    cur.execute("SELECT id, name FROM accounts_vertical ORDER BY name")
    verticals = {name: pk for pk, name in cur.fetchall()}
    cur.execute("SELECT id, name FROM accounts_usecase ORDER BY name")
    use_cases = {name: pk for pk, name in cur.fetchall()}
    vertical_ids = [verticals[v] for v in VERTICALS]
    primary = [use_cases[f"{v} use case 0"] for v in VERTICALS]
    cur.execute(
        f"""INSERT INTO accounts_account (external_id, name, vertical_id, primary_use_case_id, arr, employees, persona,
                seats, start_date, renewal_date, created_at, updated_at)
            SELECT 'B' || g, 'Account ' || g, (ARRAY{vertical_ids})[1 + g %% 5], (ARRAY{primary})[1 + g %% 5],
                   round((1000 + (g * 7919) %% 150000)::numeric, 2), 100, 'manager', 10 + g %% 90,
                   DATE '2024-01-01', %s::date + (g %% 400 - 30), now(), now()
            FROM generate_series(1, %s) g""",
        [as_of, n],
    )
    cur.execute(
        """INSERT INTO accounts_accountusecase (account_id, use_case_id)
           SELECT id, primary_use_case_id FROM accounts_account"""
    )
    cur.execute("SELECT array_agg(id ORDER BY key) FROM accounts_feature")
    features = cur.fetchone()[0]
    # 45 active days out of 90, two features a day: ~90 rows per account; how busy an account is
    # varies with its id so that bands differ.
    cur.execute(
        f"""INSERT INTO accounts_usagedaily (account_id, date, feature_id, events, active_users)
            SELECT a.id, %s::date - d, (ARRAY{features})[1 + (a.id + d + k * 3) %% 8],
                   1 + (a.id * d + k) %% 30, 1 + (a.id + d) %% 40
            FROM accounts_account a, generate_series(0, 89) d, generate_series(0, 1) k
            WHERE (a.id * 31 + d * 17) %% 2 = 0""",
        [as_of],
    )
    cur.execute("ANALYZE")
    cur.execute("SELECT count(*) FROM accounts_usagedaily")
    return cur.fetchone()[0]


FLOOR = """
SELECT account_id,
       COUNT(DISTINCT date) FILTER (WHERE events > 0 AND date >= %(d30)s) AS a,
       COUNT(DISTINCT date) FILTER (WHERE events > 0 AND date >= %(d90)s) AS b,
       COUNT(DISTINCT date) FILTER (WHERE events > 0) AS c,
       COUNT(DISTINCT date_trunc('month', date)) FILTER (WHERE events > 0) AS m,
       SUM(events) FILTER (WHERE date >= %(d30)s) AS e,
       MAX(active_users) FILTER (WHERE date >= %(d30)s) AS u,
       COUNT(DISTINCT feature_id) FILTER (WHERE events > 0 AND date >= %(d90)s) AS f,
       MAX(date) FILTER (WHERE events > 0) AS last
FROM accounts_usagedaily WHERE date BETWEEN %(d365)s AND %(d)s
GROUP BY account_id
"""


JOBS_1 = "recompute, RECOMPUTE_JOBS=1"


# What a recompute rewrites: the rows a previous run left dead in them.
RESULT_TABLES = (
    "health_healthscore",
    "health_accountmetrics",
    "segments_segmentmembership",
    "segments_touchmodelday",
    "pipeline_stagedresult",
)


def vacuum_results(url: str) -> None:
    """VACUUM ANALYZE of the results tables before a measured run (not timed): what autovacuum does
    between a deployment's nightly runs. Where the server runs with autovacuum off (seen on a
    development machine), every run left the next one its dead rows: 18 s grew to 31–37 s at
    100,000 accounts after eight runs."""
    conn = connect(url)
    with conn.cursor() as cur:
        for table in RESULT_TABLES:
            cur.execute(f"VACUUM ANALYZE {table}")
    conn.close()
    checkpoint(url)


def checkpoint(url: str) -> None:
    """A CHECKPOINT before each measured step (not timed): the WAL of what came before (the load:
    several GB at 100,000 accounts; the run before) is not written out during the next
    measurement. Seen without it: PostgreSQL checkpointing every 15–50 s through the whole
    benchmark, and the first recompute after the load 1.3–1.4× the later ones. Each run then
    starts just after a checkpoint, so the first write to every page it touches is a full page
    in the WAL (about 195 MB of WAL for a recompute at 50,000 accounts)."""
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("CHECKPOINT")
    conn.close()


def manage_measured(*args: str, url: str, env: dict | None = None) -> tuple[str, float, int]:
    """Runs manage.py under /usr/bin/time: (its output, wall seconds, its peak RSS in MB)."""
    env = manage_env(url, env)
    start = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "PEAK_RSS_KB=%M", sys.executable, str(ROOT / "manage.py"), *args],
        check=False,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip(), seconds, _peak_mb(result.stderr)


def _vm_hwm_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) // 1024


def _peak_mb(text: str) -> int:
    found = re.findall(r"PEAK_RSS_KB=(\d+)", text)
    return int(found[-1]) // 1024 if found else -1


def through_workers(url: str, as_of: date, workers: int, broker: str) -> None:
    """The nightly path: `workers` real Celery worker processes (one task at a time each) share the
    chunk tasks and one of them publishes. Prints wall time and every process's peak RSS."""
    import redis

    redis.Redis.from_url(broker).flushdb()
    env = manage_env(url, {"REDIS_URL": broker})
    procs = [celery_worker(url, broker, f"bench{n}", log=OUT / f"worker{n}.log") for n in range(workers)]
    time.sleep(8)  # let both workers connect before tasks are queued
    conn = connect(url)
    start = time.perf_counter()
    enqueue = subprocess.run(
        [
            "/usr/bin/time",
            "-f",
            "PEAK_RSS_KB=%M",
            sys.executable,
            str(ROOT / "manage.py"),
            "shell",
            "-c",
            "import datetime; from pipeline.services import recompute_enqueue; "
            f"print(recompute_enqueue(as_of=datetime.date.fromisoformat('{as_of}'), trigger='bench').pk)",
        ],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    run_id = int(enqueue.stdout.split()[-1])
    status = None
    with conn.cursor() as cur:
        while time.perf_counter() - start < 1800:
            cur.execute("SELECT status, error FROM pipeline_recomputerun WHERE id = %s", [run_id])
            status, error = cur.fetchone()
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.5)
    wall = time.perf_counter() - start
    # Each worker's high-water mark of resident memory, read before it is stopped.
    peaks = [_vm_hwm_mb(proc.pid) for proc in procs]
    for proc in procs:
        proc.send_signal(signal.SIGTERM)  # warm shutdown
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"  through {workers} Celery workers: run {run_id} {status} in {wall:.1f} s (wall, enqueue to published)")
    if status != "succeeded":
        print(f"    error: {error}")
    enqueuer = _peak_mb(enqueue.stderr)
    for n, peak in enumerate(peaks):
        print(f"    worker {n}: peak RSS {peak} MB")
    print(f"    enqueuing process (manage.py shell): peak RSS {enqueuer} MB")
    conn.close()


def bench(n: int, database: str, chunk_size: int | None, workers: int, broker: str, rounds: int) -> dict:
    as_of = date(2026, 6, 30)
    results: dict = {}
    print(f"recompute benchmark: {n:,} accounts", flush=True)
    url = fresh_database(database)
    OUT.mkdir(parents=True, exist_ok=True)
    config_path = OUT / "bench_config.json"
    config_path.write_text(json.dumps(config()))
    manage("apply_config", str(config_path), url=url)
    conn = connect(url)
    with conn.cursor() as cur, timed("load accounts and usage (generate_series)", results):
        rows = load(cur, n, as_of)
    conn.close()
    print(f"  {rows:,} usage rows")
    params = {
        "d": as_of,
        "d30": as_of - timedelta(days=29),
        "d90": as_of - timedelta(days=89),
        "d365": as_of - timedelta(days=364),
    }
    # Every output column is used, so PostgreSQL cannot skip computing any aggregate.
    floor_sql = f"SELECT count(*), sum(a + b + c + m + coalesce(e, 0) + coalesce(u, 0) + f), max(last) FROM ({FLOOR}) t"
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute(floor_sql, params)  # warm the cache once
        # The recompute reads usage through its primary key (each chunk's accounts in key order):
        # one untimed pass over that index too, so neither side is measured on a cold cache.
        cur.execute("SET enable_seqscan = off")
        cur.execute("SELECT count(*), sum(events) FROM accounts_usagedaily WHERE account_id > 0")
        cur.execute("RESET enable_seqscan")
        cur.execute("SHOW autovacuum")
        print(f"  autovacuum {cur.fetchone()[0]}; the results tables are vacuumed before each run", flush=True)
    sizes = ["--chunk-size", str(chunk_size)] if chunk_size else []
    floors, recomputes, peaks = [], [], {}
    # Rounds of one floor query and one whole `manage.py recompute`, taken in turn, so that both
    # sides meet the machine in the same states; each side's best and median are compared. The
    # first recompute is the first of its day (no earlier results); the later ones re-run the day.
    for round_ in range(1, rounds + 1):
        checkpoint(url)
        with conn.cursor() as cur:
            start = time.perf_counter()
            cur.execute(floor_sql, params)
            floors.append(time.perf_counter() - start)
        vacuum_results(url)
        out, seconds, peak = manage_measured("recompute", "--as-of", as_of.isoformat(), *sizes, url=url)
        recomputes.append(seconds)
        peaks["recompute"] = max(peaks.get("recompute", 0), peak)
        print(
            f"  round {round_}: floor {floors[-1]:.2f} s; recompute {seconds:.2f} s, peak RSS {peak} MB\n    {out}",
            flush=True,
        )
    conn.close()
    results["floor"] = floors
    results["recompute"] = recomputes
    # The same command computing one chunk at a time (one database connection), once.
    vacuum_results(url)
    out, seconds, peaks[JOBS_1] = manage_measured(
        "recompute", "--as-of", as_of.isoformat(), *sizes, url=url, env={"RECOMPUTE_JOBS": "1"}
    )
    results[JOBS_1] = [seconds]
    print(f"  {JOBS_1}: {seconds:.2f} s, peak RSS {peaks[JOBS_1]} MB\n    {out}", flush=True)
    if workers:
        through_workers(url, as_of, workers, broker)
    return {"accounts": n, "results": results, "peaks": peaks}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, nargs="+", default=[50000, 100000])
    parser.add_argument("--database", default="cs_portal_bench_recompute_pipeline")
    parser.add_argument("--chunk-size", type=int, help="accounts per chunk of the command (default: its own)")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="also run the recompute through this many Celery workers (at the largest --accounts)",
    )
    parser.add_argument("--broker", default=os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--rounds", type=int, default=3, help="rounds of one floor query and one recompute")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: at least 1")
    bytecode_compiled()  # the measured processes start as a deployment's do
    runs = [
        bench(
            n, args.database, args.chunk_size, args.workers if n == max(args.accounts) else 0, args.broker, args.rounds
        )
        for n in args.accounts
    ]
    print()
    print(f"{'accounts':>9} {'':28} {'best s':>7} {'median s':>9} {'× floor':>18} {'peak RSS':>9}")
    for r in runs:
        floor = r["results"]["floor"]
        print(
            f"{r['accounts']:>9,} {'floor: one GROUP BY pass':28} {min(floor):7.2f} {median(floor):9.2f} {'1.00':>18}"
        )
        for label in ("recompute", JOBS_1):
            times = r["results"][label]
            ratios = f"{min(times) / min(floor):.2f}" + (
                f" (median {median(times) / median(floor):.2f})" if len(times) > 1 else ""
            )
            print(f"{'':>9} {label:28} {min(times):7.2f} {median(times):9.2f} {ratios:>18} {r['peaks'][label]:>6} MB")
    if len(runs) > 1:
        small, large = min(r["peaks"]["recompute"] for r in runs), max(r["peaks"]["recompute"] for r in runs)
        print(f"peak RSS of the recompute: {small}–{large} MB ({100 * (large - small) / small:.0f}% apart)")


if __name__ == "__main__":
    main()
