"""Load: 50 logged-in users for 60 s against gunicorn on loopback (issue 15).

    .venv/bin/python benchmarks/bench_load.py                      # load 10,000 accounts, then run
    .venv/bin/python benchmarks/bench_load.py --reuse              # run on the database as it is

A fresh PostgreSQL database (default `cs_portal_bench_load_security`) gets the demo's data for
--accounts accounts (`seed_demo`) and --history days of results (`recompute --history`). gunicorn
serves the app with production settings (DEBUG off, the real middleware: sessions, roles, axes,
CSP) on 127.0.0.1 only. --users threads (a pool, one requests.Session each, logged in through the
real login form as the demo's users in turn) then walk the pages of PAGES at random, back to back,
for --seconds. Prints requests/s, p50, p95, p99 and errors (any status other than 200, or a
connection error). Bounded: loopback only, a fixed duration, the server stopped at the end.
"""

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SERVER, connect, fresh_database, manage  # noqa: E402

USERS = ["csm", "leader", "admin", "priya", "marcus", "elena"]
PAGES = [
    "/",
    "/accounts/",
    "/accounts/?vertical={vertical}",
    "/accounts/{account}/",
    "/risk/",
    "/verticals/",
    "/verticals/{vertical}/",
    "/segments/",
    "/segments/{segment}/",
    "/journeys/",
    "/scorecards/",
    "/api/v1/accounts/",
]
LEADER_PAGES = ["/revenue/"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def world(url: str) -> dict:
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT slug FROM accounts_vertical ORDER BY name LIMIT 1")
        vertical = cur.fetchone()[0]
        cur.execute("SELECT slug FROM segments_segment ORDER BY name LIMIT 1")
        segment = cur.fetchone()[0]
        cur.execute("SELECT id FROM accounts_account ORDER BY id")
        accounts = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT username FROM people_user ORDER BY username")
        users = [r[0] for r in cur.fetchall()]
    return {"vertical": vertical, "segment": segment, "accounts": accounts, "users": users}


def _insecure(session: requests.Session) -> None:
    """With DEBUG off the cookies are marked Secure; over loopback http they are sent back anyway."""
    for cookie in session.cookies:
        cookie.secure = False


def login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=30)
    _insecure(session)
    token = session.cookies["csrftoken"]
    response = session.post(
        f"{base}/login/",
        data={"username": username, "password": "demo", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302 or page.status_code != 200:
        raise SystemExit(f"login as {username} failed: {response.status_code}")
    _insecure(session)
    return session


def run_user(base: str, session: requests.Session, leader: bool, w: dict, until: float, seed: int, out: list):
    rng = random.Random(seed)
    pages = PAGES + (LEADER_PAGES if leader else [])
    while time.monotonic() < until:
        path = rng.choice(pages).format(vertical=w["vertical"], segment=w["segment"], account=rng.choice(w["accounts"]))
        start = time.perf_counter()
        try:
            status = session.get(base + path, timeout=30).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        out.append((path, status, time.perf_counter() - start))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="cs_portal_bench_load_security")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=31, help="days of results before today")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()

    if args.reuse:
        url = f"{SERVER}/{args.database}"
        manage("migrate", "-v0", url=url)
    else:
        print(f"loading {args.accounts:,} accounts into {args.database} …", flush=True)
        url = fresh_database(args.database)
        t = time.perf_counter()
        manage("seed_demo", "--accounts", str(args.accounts), url=url)
        manage("recompute", "--history", str(args.history), url=url)
        print(f"  loaded in {time.perf_counter() - t:.0f} s", flush=True)
    w = world(url)

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
        "LOG_LEVEL": "ERROR",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cs_portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not come up")
        sessions = []
        users = [u for u in USERS if u in w["users"]]
        for i in range(args.users):
            username = users[i % len(users)]
            sessions.append((login(base, username), username in ("leader", "admin")))
        print(
            f"{args.users} users logged in; {args.seconds} s of load on {args.workers} gunicorn workers …", flush=True
        )
        until = time.monotonic() + args.seconds
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.users) as pool:
            per_user = [[] for _ in sessions]
            futures = [
                pool.submit(run_user, base, s, leader, w, until, seed, per_user[seed])
                for seed, (s, leader) in enumerate(sessions)
            ]
            for f in futures:
                f.result()
        elapsed = time.monotonic() - started
        results = [r for chunk in per_user for r in chunk]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    times = [r[2] * 1000 for r in results]
    errors = [r for r in results if r[1] != 200]
    print(f"requests: {len(results):,} in {elapsed:.1f} s")
    print(f"req/s: {len(results) / elapsed:.1f}")
    print(
        f"p50: {statistics.median(times):.0f} ms  p95: {percentile(times, 95):.0f} ms  p99: {percentile(times, 99):.0f} ms"
    )
    print(f"errors: {len(errors)}")
    for path, status, _ in errors[:10]:
        print(f"  {status} {path}")
    by_page: dict[str, list[float]] = {}
    for path, _, seconds in results:
        key = path.split("?")[0]
        key = "/accounts/<id>/" if key.startswith("/accounts/") and key[10:-1].isdigit() else key
        by_page.setdefault(key, []).append(seconds * 1000)
    for key, values in sorted(by_page.items()):
        print(
            f"  {key:32} n={len(values):5}  p50 {statistics.median(values):5.0f} ms  p95 {percentile(values, 95):5.0f} ms"
        )


if __name__ == "__main__":
    main()
