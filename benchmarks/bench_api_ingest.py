"""Usage ingestion through the API (`POST /api/v1/usage/`, 50,000-row JSON batches) next to
`import_usage` on the same rows.

    .venv/bin/python benchmarks/bench_api_ingest.py --accounts 20000

Serves the app with gunicorn on a fresh database, authenticates with an ingest-scoped API token
and posts the rows over HTTP; then empties the usage table and imports the same CSV.
"""

import argparse
import csv
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, connect, fresh_database, manage, manage_env, timed  # noqa: E402
from bench_import_usage import write_accounts, write_usage  # noqa: E402

BATCH = 50_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--database", default="cs_portal_bench_api")
    args = parser.parse_args()
    results: dict[str, float] = {}
    print(f"API ingestion benchmark: {args.accounts:,} accounts")
    OUT.mkdir(parents=True, exist_ok=True)
    accounts_csv, usage_csv = OUT / f"api_accounts_{args.accounts}.csv", OUT / f"api_usage_{args.accounts}.csv"
    write_accounts(accounts_csv, args.accounts)
    url = fresh_database(args.database)
    manage("import_accounts", str(accounts_csv), url=url)
    conn = connect(url)
    rows = write_usage(conn, usage_csv)
    conn.close()
    key = manage(
        "shell",
        "-c",
        "from people.models import User, ApiToken; from people.services import api_token_create;"
        "from django.contrib.auth.models import Group;"
        "u, _ = User.objects.get_or_create(username='bench', is_staff=True); u.groups.add(Group.objects.get(name='CS Admin'));"
        "print(api_token_create(user=u, name='bench', scope=ApiToken.SCOPE_INGEST)[1])",
        url=url,
    ).splitlines()[-1]

    with usage_csv.open() as fh:
        reader = csv.DictReader(fh)
        data = [{**r, "events": int(r["events"]), "active_users": int(r["active_users"])} for r in reader]
    batches = [json.dumps(data[i : i + BATCH]).encode() for i in range(0, len(data), BATCH)]
    del data

    port = free_port()
    env = manage_env(url, {"API_THROTTLE_RATE": "100000/min"})
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cs_portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "600",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with timed(f"POST /api/v1/usage/ ({len(batches)} batches of ≤{BATCH:,})", results):
            for body in batches:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/usage/",
                    data=body,
                    method="POST",
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
                )
                with urllib.request.urlopen(request, timeout=600) as response:
                    assert response.status == 201, response.read()
    finally:
        server.terminate()
        server.wait(timeout=30)

    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("TRUNCATE accounts_usagedaily")
    conn.close()
    with timed("import_usage (same rows, one file)", results):
        manage("import_usage", str(usage_csv), url=url)

    api, cli = (
        results[f"POST /api/v1/usage/ ({len(batches)} batches of ≤{BATCH:,})"],
        results["import_usage (same rows, one file)"],
    )
    print()
    print(f"{'':44} {'seconds':>8} {'rows/s':>10}")
    print(f"{'POST /api/v1/usage/':44} {api:8.1f} {rows / api:10,.0f}")
    print(f"{'import_usage':44} {cli:8.1f} {rows / cli:10,.0f}")
    print(f"API / import_usage: {api / cli:.2f}× the time")


if __name__ == "__main__":
    main()
