"""The nightly path through a real Celery worker on Redis: beat task → chunk tasks → publish."""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from configuration.services import config_apply
from cs_portal.celery import app as celery_app
from health.models import HealthScore
from pipeline.models import RecomputeRun
from pipeline.tasks import nightly_recompute
from segments.models import Segment, SegmentMembership
from tests.factories import AccountFactory, FeatureFactory, usage
from tests.pipeline.celery_pools import celery_pools_reset

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("CELERY_TEST_BROKER", "redis://127.0.0.1:6379/14")


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker():
    if connection.vendor != "postgresql":
        pytest.skip("the worker test runs against PostgreSQL (the worker shares the test database)")
    try:
        redis.Redis.from_url(BROKER).ping()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"Redis is not reachable at {BROKER}: start it (see README) to run the worker test")
    redis.Redis.from_url(BROKER).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": BROKER,
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "cs_portal.settings",
        "RECOMPUTE_CHUNK_SIZE": "2",
    }
    log = open(ROOT / "tests" / ".worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cs_portal",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    old = {k: celery_app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    celery_app.conf.update(broker_url=BROKER, result_backend=BROKER, task_always_eager=False)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        celery_app.conf.update(**old)
        celery_pools_reset()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_nightly_recompute_runs_through_a_real_worker(worker):
    today = timezone.localdate()
    feature = FeatureFactory(key="scheduling")
    accounts = [AccountFactory() for _ in range(5)]  # chunks of 2: three chunk tasks
    for i, account in enumerate(accounts):
        for n in range(i * 4):
            usage(account, feature, today - dt.timedelta(days=n))

    config_apply(
        document={
            "version": 1,
            "scorecards": [
                {"name": "Any", "measures": [{"metric": "active_days_30d", "weight": 1, "red": 0, "green": 10}]}
            ],
            "segments": [
                {"name": "Active", "touch_model": "mid", "rule": {"field": "active_days_30d", "op": "gt", "value": 0}}
            ],
        }
    )

    # Publish over a connection to the test broker explicitly: a pool another test opened
    # earlier may still point at the default broker.
    with celery_app.connection_for_write(BROKER) as conn, conn.Producer() as producer:
        nightly_recompute.apply_async(producer=producer)
    deadline = time.monotonic() + 90
    run = None
    while time.monotonic() < deadline:
        run = RecomputeRun.objects.order_by("-created_at").first()
        if run and run.status in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    log = (ROOT / "tests" / ".worker.log").read_text()
    assert run is not None, f"the worker never started the run:\n{log[-3000:]}"
    assert run.status == "succeeded", f"{run.status}: {run.error}\n{log[-3000:]}"
    assert (run.as_of, run.trigger, run.chunks_total, run.chunks_done) == (today, "nightly", 3, 3)
    scores = dict(HealthScore.objects.filter(as_of=today).values_list("account_id", "score"))
    assert [scores[a.pk] for a in accounts] == [0, 40, 80, 100, 100]
    assert SegmentMembership.objects.filter(segment=Segment.objects.get(), left_on__isnull=True).count() == 4
    assert "recompute_chunk_task" in log
