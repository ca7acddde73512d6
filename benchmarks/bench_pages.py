"""Server time of every page at 100,000 accounts with a year of daily health scores (issue #5).

    .venv/bin/python benchmarks/bench_pages.py --accounts 100000            # load, then time
    .venv/bin/python benchmarks/bench_pages.py --accounts 100000 --reuse    # time only (after merges)

Load: a fresh PostgreSQL database, migrated, with the demo's starter configuration, ~40 CSMs,
N accounts (log-normal ARR per vertical as in demo/generator.py), use cases, ARR history, NPS,
stated drivers and 90 days of sparse usage (a full, dense year for the biggest account), loaded
with COPY and INSERT … SELECT (no ORM per row). Today's results come from the real
`manage.py recompute`; the 364 days before it are generated in SQL from today's results (scores
drifting from them), so HealthScore holds a year of daily rows per account. `measures` is filled
for the last 35 days only (older rows keep score, band, scorecard and tier, with measures = []),
and AccountMetrics for the last 35 days: that keeps the database to a sane size.

`--reuse` skips the load when the database already holds the data: it migrates (other branches
add models) and runs every `backfill*` management command that exists, then times the pages.

Timing: each page of PAGES, as each role, through Django's test Client in-process (2 warm-ups,
then 20 requests; server time = request to full response, streamed bodies consumed), next to the
250 ms p95 goal. A 404 prints "missing" (a page of another branch not merged yet) and a 403 "not
allowed" (the role may not see it). The CSV downloads of DOWNLOADS are timed apart (no goal).
"""

import argparse
import logging
import math
import os
import random
import re
import statistics
import sys
import time
import warnings
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, SERVER, connect, fresh_database, manage  # noqa: E402

# Every page, with {vertical}, {segment} and {account} filled from the loaded data. Pages of other
# branches are listed too: they print "missing" until merged.
PAGES = [
    "/",
    "/accounts/",
    "/accounts/?vertical={vertical}",
    "/accounts/{account}/",
    "/verticals/",
    "/verticals/{vertical}/",
    "/revenue/",
    "/revenue/?format=csv",
    "/risk/",
    "/risk/?vertical={vertical}",
    "/segments/",
    "/segments/{segment}/",
    "/journeys/",
    "/scorecards/",
    "/api/v1/accounts/",
    "/admin/accounts/account/",
    "/admin/health/healthscore/",
    "/healthz",
]
DOWNLOADS = ["/accounts/export.csv", "/segments/{segment}/export.csv"]
ROLES = ["csm", "leader", "admin"]
ADMIN_ONLY = ("/admin/",)  # only staff reach the admin: not timed for the other roles
GOAL_MS = 250
WARMUPS, RUNS, DOWNLOAD_RUNS = 2, 20, 3
HISTORY_DAYS = 365
DETAIL_DAYS = 35  # days with measures and AccountMetrics
USAGE_DAYS = 90
CSMS = 40
# Average share of active days per vertical rhythm and trajectory (after demo/generator.py).
RHYTHM_ACTIVITY = {"daily": 0.68, "weekdays": 0.44, "weekly": 0.25, "twice_weekly": 0.16, "terms": 0.05}
TRAJECTORY_ACTIVITY = {"healthy": 1.0, "declining": 0.6, "struggling": 0.25, "churned": 0.5}


# ---------------------------------------------------------------------------------------- load


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "true"  # plain static storage (no collectstatic); DEBUG is off while timing
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    # Expected 403s and 404s would log a traceback each; keep the output to the figures.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No directory at")


def copy_rows(cur, table: str, columns: list[str], rows) -> int:
    buffer = StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join(r"\N" if v is None else str(v) for v in row))
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    return count


class IndexesDropped:
    """Drops a table's secondary indexes and constraints around a big load and recreates them
    exactly as the migrations defined them (from PostgreSQL's own definitions)."""

    def __init__(self, cur, table: str):
        self.cur, self.table = cur, table

    def __enter__(self):
        cur, table = self.cur, self.table
        cur.execute(
            """SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint
               WHERE conrelid = %s::regclass AND contype IN ('u', 'f', 'c')""",
            [table],
        )
        self.constraints = cur.fetchall()
        cur.execute(
            """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)""",
            [table],
        )
        self.indexes = cur.fetchall()
        for name, _, _ in self.constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            cur.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc):
        cur, table = self.cur, self.table
        for _, definition in self.indexes:
            cur.execute(definition)
        # Unique constraints first (a foreign key may rely on them), then checks and foreign keys.
        for name, definition, _ in sorted(self.constraints, key=lambda c: c[2] != "u"):
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def load(url: str, n: int, today: date, seed: int) -> dict:
    """Loads everything; returns row counts."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from configuration.services import config_apply
    from demo.generator import NAME_PARTS, TRAJECTORIES, VERTICALS, DemoGenerator, demo_config
    from people import roles
    from people.models import User

    rng = random.Random(seed)
    demo = DemoGenerator(accounts=0, seed=seed, today=today)
    owners = demo.team()  # csm, leader, admin and the demo CSMs, password "demo"
    config_apply(document=demo_config(), dry_run=False, prune=False)
    csm_group = Group.objects.get(name=roles.CSM)
    for i in range(CSMS - len(owners)):
        user = User.objects.create(
            username=f"csm{i + 1:02d}",
            email=f"csm{i + 1:02d}@cs-portal.bench",
            first_name="CSM",
            last_name=f"{i + 1:02d}",
        )
        user.set_unusable_password()
        user.save()
        user.groups.add(csm_group)
        owners.append(user)
    owner_ids = [u.pk for u in owners]

    conn = connect(url)
    cur = conn.cursor()
    cur.execute("SET synchronous_commit = off; SET maintenance_work_mem = '512MB'; SET work_mem = '64MB'")
    cur.execute("SELECT name, id FROM accounts_vertical")
    vertical_ids = dict(cur.fetchall())
    cur.execute("SELECT name, id FROM accounts_usecase")
    use_case_ids = dict(cur.fetchall())
    cur.execute("SELECT key, id FROM accounts_feature")
    feature_ids = dict(cur.fetchall())

    accounts, links, arr_rows, nps_rows, drivers, activity = [], [], [], [], [], []
    used_names: dict[str, int] = {}
    weights = [v.share for v in VERTICALS]
    personas = ["executive", "manager", "individual_contributor", ""]
    now = timezone.now().isoformat()
    comments = ["", "", "Reminders save us hours.", "Setup was confusing.", "Love the booking pages."]
    for i in range(1, n + 1):
        profile = rng.choices(VERTICALS, weights=weights)[0]
        trajectory = rng.choices([t for t, _ in TRAJECTORIES], weights=[w for _, w in TRAJECTORIES])[0]
        first, second = NAME_PARTS[profile.name]
        name = f"{rng.choice(first)} {rng.choice(second)}"
        used_names[name] = used_names.get(name, 0) + 1
        if used_names[name] > 1:
            name = f"{name} {used_names[name]}"
        arr = round(profile.median_arr * math.exp(rng.gauss(0, 0.8)) / 100) * 100
        if rng.random() < profile.strategic:
            arr *= 5
        seats = max(3, int(arr / rng.choice([400, 600, 900])))
        start = today - timedelta(days=rng.randint(200, 1500))
        renewal = today + timedelta(days=rng.randint(-20, 360))
        churned_on = today - timedelta(days=rng.randint(20, 200)) if trajectory == "churned" else None
        account_use_cases = rng.sample(profile.use_cases, rng.choice([1, 1, 2, 2, 3]))
        accounts.append(
            (
                i,
                f"{profile.name[:3].upper().replace(' ', '')}-{i:06d}",
                name,
                vertical_ids[profile.name],
                use_case_ids[account_use_cases[0]],
                f"{arr}.00",
                owner_ids[i % len(owner_ids)],
                seats * rng.choice([2, 3, 5]),
                rng.choice(personas),
                seats if rng.random() > 0.05 else None,
                start,
                renewal,
                churned_on,
                now,
                now,
            )
        )
        links.extend((i, use_case_ids[u]) for u in account_use_cases)
        activity.append((i, RHYTHM_ACTIVITY[profile.rhythm] * TRAJECTORY_ACTIVITY[trajectory] * rng.uniform(0.6, 1.25)))
        # ARR history: the first value, then 0–2 changes over the year (today's ARR is the last).
        first_day = max(start, today - timedelta(days=540))
        days_ago = sorted(rng.sample(range(30, 360, 30), rng.choice([0, 0, 1, 1, 2])), reverse=True)
        changed_on = [d for d in (today - timedelta(days=n) for n in days_ago) if d > first_day]
        values = [arr]  # newest first
        for _ in changed_on:
            values.append(round(values[-1] / rng.choice([0.8, 0.9, 1.15, 1.25, 1.4]) / 100) * 100)
        previous = None
        for day, value in zip([first_day, *changed_on], reversed(values), strict=True):
            arr_rows.append((i, day, f"{value}.00", None if previous is None else f"{previous}.00"))
            previous = value
        center = {"healthy": 8.6, "declining": 6.5, "struggling": 4.5, "churned": 4}[trajectory]
        for day in {today - timedelta(days=rng.randint(0, 360)) for _ in range(rng.randint(0, 4))}:
            if churned_on is None or day < churned_on:
                nps_rows.append((i, day, max(0, min(10, round(rng.gauss(center, 1.4)))), rng.choice(comments)))
        if rng.random() < 0.45:
            for key in rng.sample(profile.features, rng.randint(1, 2)):
                drivers.append((i, feature_ids[key], "Mentioned on the last call.", owner_ids[i % len(owner_ids)], now))

    counts = {}
    counts["accounts"] = copy_rows(
        cur,
        "accounts_account",
        [
            "id",
            "external_id",
            "name",
            "vertical_id",
            "primary_use_case_id",
            "arr",
            "owner_id",
            "employees",
            "persona",
            "seats",
            "start_date",
            "renewal_date",
            "churned_on",
            "created_at",
            "updated_at",
        ],
        accounts,
    )
    cur.execute("SELECT setval(pg_get_serial_sequence('accounts_account', 'id'), %s)", [n])
    counts["account use cases"] = copy_rows(cur, "accounts_accountusecase", ["account_id", "use_case_id"], links)
    counts["ARR changes"] = copy_rows(
        cur, "accounts_arrchange", ["account_id", "date", "arr", "previous_arr"], arr_rows
    )
    counts["NPS responses"] = copy_rows(
        cur, "accounts_npsresponse", ["account_id", "date", "score", "comment"], nps_rows
    )
    counts["stated drivers"] = copy_rows(
        cur, "accounts_stateddriver", ["account_id", "feature_id", "note", "recorded_by_id", "recorded_at"], drivers
    )

    # Usage: 90 days, each account active on a share of the days that follows its vertical's rhythm
    # and its trajectory, with its vertical's main feature and sometimes a second one; the biggest account (the one timed on /accounts/<id>/) uses every feature daily for a year.
    vertical_features = {vertical_ids[v.name]: [feature_ids[k] for k in v.features] for v in VERTICALS}
    cur.execute("CREATE TEMP TABLE vf (vertical_id bigint, features bigint[])")
    copy_rows(
        cur,
        "vf",
        ["vertical_id", "features"],
        [(v, "{" + ",".join(map(str, f)) + "}") for v, f in vertical_features.items()],
    )
    cur.execute("CREATE TEMP TABLE activity (account_id bigint PRIMARY KEY, p float)")
    copy_rows(cur, "activity", ["account_id", "p"], activity)
    cur.execute("SELECT setseed(%s)", [seed / 1000])
    with IndexesDropped(cur, "accounts_usagedaily"):
        cur.execute(
            """INSERT INTO accounts_usagedaily (account_id, date, feature_id, events, active_users)
               SELECT a.id, %(today)s::date - d, vf.features[1 + k], 1 + (random() * 3 * coalesce(a.seats, 20))::int,
                      1 + (random() * coalesce(a.seats, 20) * 0.8)::int
               FROM accounts_account a JOIN vf USING (vertical_id) JOIN activity ON activity.account_id = a.id,
                    generate_series(0, %(days)s - 1) d, generate_series(0, 1) k
               WHERE (a.churned_on IS NULL OR %(today)s::date - d < a.churned_on - 20)
                 -- hashes, not random(): PostgreSQL would evaluate random() once per k, not per row
                 AND (hashtext(a.id || '/' || d)::bigint + 2147483648) / 4294967296.0 < activity.p
                 AND (k = 0 OR (hashtext(a.id || '/' || d || '/' || k)::bigint + 2147483648) / 4294967296.0 < 0.5)""",
            {"today": today, "days": USAGE_DAYS},
        )
        cur.execute("SELECT id FROM accounts_account WHERE churned_on IS NULL ORDER BY arr DESC, id LIMIT 1")
        big = cur.fetchone()[0]
        cur.execute(
            """INSERT INTO accounts_usagedaily (account_id, date, feature_id, events, active_users)
               SELECT %(big)s, %(today)s::date - d, f.id, 5 + (random() * 200)::int, 5 + (random() * 100)::int
               FROM generate_series(%(days)s, 364) d, accounts_feature f""",
            {"big": big, "today": today, "days": USAGE_DAYS},
        )
        # The dense year replaces the sparse rows of the last 90 days.
        cur.execute(
            "DELETE FROM accounts_usagedaily WHERE account_id = %s AND date > %s",
            [big, today - timedelta(days=USAGE_DAYS)],
        )
        cur.execute(
            """INSERT INTO accounts_usagedaily (account_id, date, feature_id, events, active_users)
               SELECT %(big)s, %(today)s::date - d, f.id, 5 + (random() * 200)::int, 5 + (random() * 100)::int
               FROM generate_series(0, %(days)s - 1) d, accounts_feature f""",
            {"big": big, "today": today, "days": USAGE_DAYS},
        )
    cur.execute("ANALYZE")
    cur.execute("SELECT count(*) FROM accounts_usagedaily")
    counts["usage rows"] = cur.fetchone()[0]

    # Today's results from the real engine: health (with measures), metrics, segments, touch models.
    start = time.perf_counter()
    print("   ", manage("recompute", "--as-of", today.isoformat(), url=url), flush=True)
    print(f"    recompute of today: {time.perf_counter() - start:.1f} s", flush=True)

    history(cur, today, seed)
    cur.execute("SELECT count(*) FROM health_healthscore")
    counts["health scores"] = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM health_accountmetrics")
    counts["account metrics"] = cur.fetchone()[0]
    cur.execute("SELECT count(*) FROM segments_segmentmembership")
    counts["segment stays"] = cur.fetchone()[0]
    conn.close()
    return counts


def history(cur, today: date, seed: int) -> None:
    """The 364 days before today, generated from today's results (one INSERT per day, in date
    order as the nightly recompute would write them)."""
    cur.execute("SELECT setseed(%s)", [seed / 1000 + 0.1])
    # Per account: today's score (or a low one for churned accounts), a drift per day back in time
    # (positive: the account was healthier a year ago), a seasonal phase, the scorecard and tier.
    cur.execute(
        """CREATE TEMP TABLE drift AS
           SELECT h.account_id, a.churned_on,
                  COALESCE(h.score, 20 + random() * 25)::float AS base,
                  CASE WHEN a.churned_on IS NOT NULL THEN 0.05 + random() * 0.1 ELSE (random() - 0.55) * 0.12 END AS slope,
                  random() * 60 AS phase,
                  COALESCE(h.scorecard_id, sc.id) AS scorecard_id, sc2.healthy_at, sc2.at_risk_below,
                  h.tier_id, COALESCE(t.touch_model, '') AS touch_model, h.measures
           FROM health_healthscore h JOIN accounts_account a ON a.id = h.account_id
           LEFT JOIN health_scorecard sc ON sc.vertical_id = a.vertical_id AND sc.use_case_id IS NULL AND sc.active
           LEFT JOIN health_scorecard sc2 ON sc2.id = COALESCE(h.scorecard_id, sc.id)
           LEFT JOIN segments_touchmodelday t ON t.account_id = h.account_id AND t.day = h.as_of
           WHERE h.as_of = %s""",
        [today],
    )
    cur.execute("ANALYZE drift")
    with IndexesDropped(cur, "health_healthscore"):
        for days_ago in range(HISTORY_DAYS - 1, 0, -1):
            day = today - timedelta(days=days_ago)
            cur.execute(
                """INSERT INTO health_healthscore (account_id, as_of, score, band, scorecard_id, measures, tier_id)
                   SELECT account_id, %(day)s, s,
                          CASE WHEN churned THEN 'churned' WHEN s IS NULL THEN 'unknown'
                               WHEN s >= healthy_at THEN 'healthy' WHEN s < at_risk_below THEN 'at_risk' ELSE 'neutral' END,
                          CASE WHEN churned THEN NULL ELSE scorecard_id END,
                          CASE WHEN churned OR %(d)s >= %(detail)s THEN '[]'::jsonb ELSE measures END,
                          tier_id
                   FROM (SELECT *, churned_on IS NOT NULL AND churned_on <= %(day)s AS churned,
                                CASE WHEN (churned_on IS NOT NULL AND churned_on <= %(day)s) OR scorecard_id IS NULL THEN NULL
                                     ELSE greatest(0, least(100, round(base + slope * %(d)s
                                          + 6 * sin((%(d)s + phase) / 23.0) + (random() * 6 - 3))))::int END AS s
                         FROM drift) t""",
                {"day": day, "d": days_ago, "detail": DETAIL_DAYS},
            )
            cur.execute(
                """INSERT INTO segments_touchmodelday (account_id, day, touch_model)
                   SELECT account_id, %(day)s, touch_model FROM drift
                   WHERE touch_model <> '' AND (churned_on IS NULL OR churned_on > %(day)s)""",
                {"day": day},
            )
            cur.execute("INSERT INTO health_publishedday (day, published_at) VALUES (%s, now())", [day])
            if days_ago % 60 == 0:
                print(f"    health history: {HISTORY_DAYS - days_ago} days", flush=True)
        print("    health history: rebuilding indexes", flush=True)
    with IndexesDropped(cur, "health_accountmetrics"):
        cur.execute(
            """INSERT INTO health_accountmetrics (account_id, as_of, active_days_30d, active_days_90d, active_days_365d,
                   active_months_365d, events_30d, active_users_30d, seat_utilization_30d, features_used_90d,
                   days_since_last_activity, nps_latest, journey_progress, journey_stage_id)
               SELECT account_id, as_of - d, greatest(0, active_days_30d + (random() * 4 - 2)::int),
                      active_days_90d, active_days_365d, active_months_365d,
                      greatest(0, events_30d + (random() * 20 - 10)::int), active_users_30d, seat_utilization_30d,
                      features_used_90d, greatest(0, days_since_last_activity - d), nps_latest, journey_progress, journey_stage_id
               FROM health_accountmetrics, generate_series(1, %s) d WHERE as_of = %s""",
            [DETAIL_DAYS - 1, today],
        )
    # Segment history: today's stays began at various times over the year, and a third of the
    # accounts also left some segment during it.
    cur.execute(
        """UPDATE segments_segmentmembership SET entered_on = %s::date - (random() * 364)::int WHERE left_on IS NULL""",
        [today],
    )
    cur.execute(
        """INSERT INTO segments_segmentmembership (segment_id, account_id, entered_on, left_on)
           SELECT s.id, a.id, %(today)s::date - 300 + (random() * 100)::int, %(today)s::date - 150 + (random() * 120)::int
           FROM accounts_account a
           JOIN LATERAL (SELECT id FROM segments_segment ORDER BY (id * 7919 + a.id) %% 97 LIMIT 1) s ON true
           WHERE random() < 0.33""",
        {"today": today},
    )
    cur.execute(
        """INSERT INTO pipeline_recomputerun (as_of, status, trigger, started_at, finished_at, accounts_scored,
               chunks_total, chunks_done, error, created_at, active_lock)
           SELECT %(today)s::date - d, 'succeeded', 'nightly', (%(today)s::date - d + time '02:00')::timestamptz,
                  (%(today)s::date - d + time '02:01')::timestamptz, r.accounts_scored, r.chunks_total, r.chunks_total,
                  '', (%(today)s::date - d + time '02:00')::timestamptz, NULL
           FROM generate_series(1, %(days)s) d,
                (SELECT accounts_scored, chunks_total FROM pipeline_recomputerun ORDER BY id DESC LIMIT 1) r""",
        {"today": today, "days": HISTORY_DAYS - 1},
    )
    # VACUUM, not only ANALYZE: a live database is vacuumed by autovacuum (hint bits set, visibility
    # map current for index-only scans); timing a never-vacuumed bulk load would be unfair to it.
    cur.execute("VACUUM ANALYZE")


def database_holds_data(name: str, n: int) -> bool:
    admin = connect(f"{SERVER}/postgres")
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cur.fetchone() is not None
    admin.close()
    if not exists:
        return False
    conn = connect(f"{SERVER}/{name}")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM accounts_account")
            accounts = cur.fetchone()[0]
            cur.execute(
                "SELECT count(DISTINCT as_of) FROM health_healthscore WHERE account_id = (SELECT min(id) FROM accounts_account)"
            )
            days = cur.fetchone()[0]
    except Exception:  # noqa: BLE001 - a half-made database is reloaded
        return False
    finally:
        conn.close()
    return accounts == n and days >= HISTORY_DAYS


def database_size(url: str) -> str:
    conn = connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cur.fetchone()[0]
    conn.close()
    return size


# -------------------------------------------------------------------------------------- timing


def page_parameters() -> dict:
    from django.db.models import Count

    from accounts.models import Account, UsageDaily, Vertical
    from segments.models import Segment

    vertical = Vertical.objects.annotate(n=Count("accounts")).order_by("-n").first()
    account = UsageDaily.objects.values("account_id").annotate(n=Count("*")).order_by("-n").first()
    segment = Segment.objects.annotate(n=Count("memberships")).order_by("-n").first()
    return {
        "vertical": vertical.slug if vertical else "none",
        "account": account["account_id"]
        if account
        else Account.objects.order_by("-arr").values_list("pk", flat=True).first(),
        "segment": segment.slug if segment else "none",
    }


def fetch(client, url: str):
    start = time.perf_counter()
    response = client.get(url)
    if response.streaming:
        size = sum(len(chunk) for chunk in response.streaming_content)
    else:
        size = len(response.content)
    return response.status_code, (time.perf_counter() - start) * 1000, size


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def time_pages(params: dict, runs: int, only: str = "", roles: list[str] = ROLES) -> list[tuple]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from people.models import User

    rows = []
    for template in PAGES:
        url = template.format(**params)
        if only and not re.search(only, url):
            continue
        for role in roles:
            if url.startswith(ADMIN_ONLY) and role != "admin":
                continue
            client = Client()
            client.force_login(User.objects.get(username=role))
            status, _, _ = fetch(client, url)
            if status == 404:
                rows.append((url, role, status, None, None, None, "missing"))
                continue
            if status in (302, 403):
                rows.append((url, role, status, None, None, None, "not allowed"))
                continue
            for _ in range(WARMUPS - 1):
                fetch(client, url)
            timings = [fetch(client, url)[1] for _ in range(runs)]
            with CaptureQueriesContext(connection) as queries:
                fetch(client, url)
            worst = p95(timings)
            verdict = "PASS" if status == 200 and worst <= GOAL_MS else "FAIL"
            rows.append((url, role, status, statistics.median(timings), worst, len(queries), verdict))
            print(
                f"  {url:40} {role:7} {status}  {statistics.median(timings):8.1f} {worst:8.1f} {len(queries):4} {verdict}",
                flush=True,
            )
    return rows


def time_downloads(params: dict) -> list[tuple]:
    from django.test import Client

    from people.models import User

    rows = []
    client = Client()
    client.force_login(User.objects.get(username="leader"))
    for template in DOWNLOADS:
        url = template.format(**params)
        status, _, size = fetch(client, url)
        if status != 200:
            rows.append((url, status, None, None, size))
            continue
        timings = [fetch(client, url)[1] for _ in range(DOWNLOAD_RUNS)]
        rows.append((url, status, statistics.median(timings), max(timings), size))
    return rows


def report(rows: list[tuple], downloads: list[tuple], header: list[str]) -> str:
    lines = [
        *header,
        "",
        f"{'page':42} {'role':7} {'status':>6} {'median ms':>10} {'p95 ms':>8} {'queries':>8}  vs {GOAL_MS} ms",
    ]
    for url, role, status, median, worst, queries, verdict in rows:
        if median is None:
            lines.append(f"{url:42} {role:7} {status:>6} {'-':>10} {'-':>8} {'-':>8}  {verdict}")
        else:
            lines.append(f"{url:42} {role:7} {status:>6} {median:10.1f} {worst:8.1f} {queries:8}  {verdict}")
    failed = sum(1 for r in rows if r[6] == "FAIL")
    timed = sum(1 for r in rows if r[6] in ("PASS", "FAIL"))
    lines.append("")
    lines.append(f"{timed - failed} of {timed} timed pages within {GOAL_MS} ms p95")
    lines.append("")
    lines.append(f"Downloads (leader, {DOWNLOAD_RUNS} runs, no goal): {'median s':>9} {'max s':>7} {'MB':>6}")
    for url, status, median, worst, size in downloads:
        if median is None:
            lines.append(f"  {url:50} status {status}")
        else:
            lines.append(f"  {url:50} {median / 1000:9.2f} {worst / 1000:7.2f} {size / 1e6:6.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100000)
    parser.add_argument("--database", help="default: cs_portal_bench_pages_<accounts>, one per size")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it already holds the data")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--no-backfill", action="store_true", help="with --reuse: migrate only, skip the backfill commands"
    )
    parser.add_argument("--only", default="", help="time only the pages whose URL matches this regex (no downloads)")
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated roles to time as (default all)")
    args = parser.parse_args()
    args.database = args.database or f"cs_portal_bench_pages_{args.accounts}"
    url = f"{SERVER}/{args.database}"
    today = date.today()
    print(f"page benchmark: {args.accounts:,} accounts, {HISTORY_DAYS} days of daily health scores", flush=True)
    header = [f"page benchmark: {args.accounts:,} accounts, database {args.database}"]
    if args.reuse and database_holds_data(args.database, args.accounts):
        print("  reusing the loaded database: migrate, then backfills", flush=True)
        manage("migrate", "-v0", url=url)
        django_setup(url)
        from django.core.management import get_commands

        for command in sorted(c for c in get_commands() if c.startswith("backfill") and not args.no_backfill):
            start = time.perf_counter()
            print(f"  {command}: {manage(command, url=url)[:200]} ({time.perf_counter() - start:.1f} s)", flush=True)
        loaded_note = OUT / f"{args.database}.load.txt"
        header.append("database reused; when it was loaded:")
        header.extend(loaded_note.read_text().splitlines() if loaded_note.exists() else ["  (no load notes found)"])
    else:
        start = time.perf_counter()
        fresh_database(args.database)
        django_setup(url)
        counts = load(url, args.accounts, today, args.seed)
        loaded = time.perf_counter() - start
        notes = [f"  load time: {loaded / 60:.1f} min", *(f"  {label}: {count:,}" for label, count in counts.items())]
        header.extend(notes)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{args.database}.load.txt").write_text("\n".join(notes) + "\n")
    header.append(f"database size: {database_size(url)}")
    header.append(
        f"HealthScore: a row per account and day for {HISTORY_DAYS} days; measures filled for the last {DETAIL_DAYS} days only"
        f" (older rows: score, band, scorecard, tier; measures = []); AccountMetrics for the last {DETAIL_DAYS} days"
    )
    print("\n".join(header), flush=True)

    from django.conf import settings
    from django.test.utils import setup_test_environment

    setup_test_environment(debug=False)  # lets the test client's host in; DEBUG off (no query log) as in production
    assert not settings.DEBUG
    params = page_parameters()
    header.append(f"parameters: {params}")
    print(f"  timing {len(PAGES)} pages × roles, {WARMUPS} warm-ups + {args.runs} requests each: {params}", flush=True)
    rows = time_pages(params, args.runs, args.only, args.roles.split(","))
    downloads = [] if args.only else time_downloads(params)
    text = report(rows, downloads, header)
    print()
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_pages.txt").write_text(text + "\n")
    print(f"\n(written to {OUT / 'bench_pages.txt'})")


if __name__ == "__main__":
    main()
