"""Issue 15 §1, fault injection: a recompute through a real Celery worker (prefork, 2 processes) on a
private redis-server this module starts on its own port, against the real PostgreSQL (the test
database). Each test publishes yesterday, starts today's nightly run — chunks slowed by
RECOMPUTE_TEST_CHUNK_SLEEP so the fault lands mid-run — and injects one fault:

- SIGKILL of a pool child, SIGKILL of the whole worker (then a new worker, as a supervisor would
  start), the broker stopped and restarted empty, the worker's PostgreSQL connections terminated
  (pg_terminate_backend, only sessions of the test database named by the worker's application_name),
  and "Recompute now" while the broker is unreachable.

After each: yesterday's results are intact, today is published whole or not at all, the run ends
failed or succeeds on retry within a minute (the beat watchdog is sent through the broker every few
seconds here, as beat would every minute; RECOMPUTE_STALL_SECONDS is short), and the next run
succeeds with nobody touching anything. The shared Redis and PostgreSQL are never stopped.
"""

import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import kombu.exceptions
import pytest
import redis
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from configuration.services import config_apply
from cs_portal.celery import app as celery_app
from health.models import HealthScore, PublishedDay
from pipeline.models import RecomputeChunk, RecomputeRun, StagedResult
from pipeline.services import recompute
from pipeline.tasks import nightly_recompute, recompute_watchdog_task
from tests.factories import AccountFactory, FeatureFactory, usage
from tests.pipeline.celery_pools import celery_pools_reset
from tests.pipeline.test_tasks import database_url

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "tests" / ".faults-worker.log"
ACCOUNTS = 12
CHUNK_SIZE = 2  # six chunks
CHUNK_SLEEP = 1.5  # seconds each chunk holds its transaction open: faults land mid-run
STALL_SECONDS = 8
APP_NAME = "cs-portal-faults-worker"
DEADLINE = 75  # seconds for the faulty run to end and the next one to publish


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of this module's own, on a free loopback port, kept in memory only."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "redis-server is not installed: the fault tests start a private one (apt-get install redis-server)"
            )
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        pytest.fail(f"the private redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # as a crash: nothing saved
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def broker():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


class Worker:
    """`celery worker --pool prefork --concurrency 2` on the private broker and the test database,
    supervised as a deployment's is (compose's `restart: unless-stopped`, systemd): a worker that
    exits on its own is started again. Celery's worker can exit on a broker restart (kombu fails
    closing the lost connection: "'NoneType' object has no attribute 'hostname'")."""

    def __init__(self, broker_url: str):
        self.broker_url = broker_url
        self.proc = None
        self.log = open(LOG, "a")  # noqa: SIM115
        self.restarts = 0  # by the supervisor; a test that expects none fails on one (see the fixture)
        self.restarts_expected = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:
                code = self.proc.poll() if self.proc is not None else None
            if code is not None and not self._stopping.is_set():
                self.log.write(f"[supervisor] the worker exited ({code}): starting it again\n")
                self.log.flush()
                self.restarts += 1
                self.start()

    def start(self) -> None:
        """Starts the worker unless it is running (the supervisor may have started it already)."""
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            self._start()
        if not self._supervisor.is_alive() and not self._stopping.is_set():
            self._supervisor.start()

    def _start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DATABASE_APPLICATION_NAME": APP_NAME,
            "REDIS_URL": self.broker_url,
            "DEBUG": "true",
            "DJANGO_SETTINGS_MODULE": "cs_portal.settings",
            "RECOMPUTE_CHUNK_SIZE": str(CHUNK_SIZE),
            "RECOMPUTE_TEST_CHUNK_SLEEP": str(CHUNK_SLEEP),
            "RECOMPUTE_STALL_SECONDS": str(STALL_SECONDS),
            "CELERY_VISIBILITY_TIMEOUT": "10",
            "FRESHNESS_ENABLED": "false",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cs_portal",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def children(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]

    def kill_all(self) -> None:
        """SIGKILL to the worker and its pool processes at once (an OOM kill of the container)."""
        proc = self.proc  # the one killed (the supervisor may start the next meanwhile)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=5)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_all()


@pytest.fixture
def worker(broker):
    if connection.vendor != "postgresql":
        pytest.skip("the fault tests run against PostgreSQL (the worker shares the test database)")
    redis.Redis.from_url(broker.url).flushdb()
    LOG.write_text("")
    w = Worker(broker.url)
    w.start()
    old = {k: celery_app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    celery_app.conf.update(broker_url=broker.url, result_backend=broker.url, task_always_eager=False)
    try:
        yield w
        # Only a test that takes the worker's world away (the broker, the whole worker) may see the
        # worker exit and come back: anywhere else an exit is a failure, not something to recover.
        assert w.restarts == 0 or w.restarts_expected, (
            f"the worker exited {w.restarts} time(s):\n{LOG.read_text()[-3000:]}"
        )
    finally:
        w.stop()
        w.log.close()
        celery_app.conf.update(**old)
        celery_pools_reset()


def send(task, broker_url: str) -> bool:
    """Publishes `task` on the private broker (as beat would); False while the broker is down."""
    try:
        with celery_app.connection_for_write(broker_url) as conn, conn.Producer() as producer:
            task.apply_async(producer=producer, retry=False)
        return True
    except (kombu.exceptions.KombuError, redis.exceptions.RedisError, OSError):
        return False


@pytest.fixture
def world():
    """Yesterday published (in this process); today's nightly run is the one the faults hit."""
    today = timezone.localdate()
    feature = FeatureFactory(key="scheduling")
    for i in range(ACCOUNTS):
        account = AccountFactory(external_id=f"F{i:02}")
        for n in range(i % 6 * 2):
            usage(account, feature, today - dt.timedelta(days=n + 1))
    config_apply(
        document={
            "version": 1,
            "scorecards": [
                {"name": "Any", "measures": [{"metric": "active_days_30d", "weight": 1, "red": 0, "green": 10}]}
            ],
        }
    )
    yesterday = today - dt.timedelta(days=1)
    recompute(as_of=yesterday)
    return yesterday, day_state(yesterday)


def day_state(day):
    rows = sorted(HealthScore.objects.filter(as_of=day).values_list("account_id", "score", "band", "computed_at"))
    published = PublishedDay.objects.filter(day=day).values_list("run_id", "published_at").first()
    return rows, published


def wait_mid_run(timeout: float = 40) -> RecomputeRun:
    """Today's run once it has stored at least one chunk and not all of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = RecomputeRun.objects.filter(as_of=timezone.localdate()).order_by("-created_at").first()
        if run and run.status == "running" and 1 <= run.chunks_done < run.chunks_total:
            return run
        time.sleep(0.1)
    pytest.fail(f"today's run never got mid-way:\n{LOG.read_text()[-3000:]}")


def wait_over(run: RecomputeRun, broker_url: str) -> RecomputeRun:
    """Waits for `run` to end, sending the watchdog task every 2 s as beat would (every minute)."""
    deadline = time.monotonic() + DEADLINE
    last_watch = 0.0
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status not in ("queued", "running"):
            return run
        if time.monotonic() - last_watch > 2:
            send(recompute_watchdog_task, broker_url)
            last_watch = time.monotonic()
        time.sleep(0.2)
    pytest.fail(f"run {run.pk} still {run.status} after {DEADLINE} s:\n{LOG.read_text()[-4000:]}")


def wait_published(broker_url: str) -> RecomputeRun:
    """Waits until a run of today has published, as the watchdog's retry or the faulty run itself."""
    deadline = time.monotonic() + DEADLINE
    last_watch = 0.0
    while time.monotonic() < deadline:
        done = RecomputeRun.objects.filter(as_of=timezone.localdate(), status="succeeded").first()
        if done:
            return done
        if time.monotonic() - last_watch > 2:
            send(recompute_watchdog_task, broker_url)
            last_watch = time.monotonic()
        time.sleep(0.2)
    runs = list(RecomputeRun.objects.values_list("pk", "trigger", "status", "error"))
    pytest.fail(f"today was never published: {runs}\n{LOG.read_text()[-4000:]}")


def assert_whole_or_nothing(day) -> None:
    """No half-written day: all accounts or none, and PublishedDay exactly when all."""
    scored = HealthScore.objects.filter(as_of=day).count()
    assert scored in (0, ACCOUNTS), f"{scored} of {ACCOUNTS} accounts written for {day}"
    assert PublishedDay.objects.filter(day=day).exists() == (scored == ACCOUNTS)


def assert_recovered(world, faulty: RecomputeRun, broker_url: str, *, stalled: bool = True) -> None:
    yesterday, before = world
    today = timezone.localdate()
    print(f"faulty run {faulty.pk}: {faulty.status} {faulty.error}".strip())  # shown with -s: how it ended
    assert faulty.status in ("failed", "succeeded"), faulty.status
    assert faulty.active_lock is None
    assert day_state(yesterday) == before, "yesterday's results changed"
    assert_whole_or_nothing(today)
    if stalled:
        # Today is published without anyone touching anything: the run on retry, or the watchdog's retry.
        wait_published(broker_url)
        assert_whole_or_nothing(today)
    # And the next run (tomorrow night's, say) goes ahead: the lock is free, the worker healthy.
    before_next = RecomputeRun.objects.count()
    assert send(nightly_recompute, broker_url)
    deadline = time.monotonic() + DEADLINE
    while RecomputeRun.objects.count() == before_next and time.monotonic() < deadline:
        time.sleep(0.1)
    nxt = wait_over(RecomputeRun.objects.order_by("-created_at").first(), broker_url)
    assert nxt.status == "succeeded", f"{nxt.status}: {nxt.error}\n{LOG.read_text()[-3000:]}"
    assert HealthScore.objects.filter(as_of=today).count() == ACCOUNTS
    assert PublishedDay.objects.get(day=today).run_id == nxt.pk
    assert day_state(yesterday) == before
    assert not StagedResult.objects.exists() and not RecomputeChunk.objects.exists()
    assert not RecomputeRun.objects.filter(active_lock=True).exists()


def start_tonight(broker_url: str) -> RecomputeRun:
    assert send(nightly_recompute, broker_url)
    return wait_mid_run()


def test_sigkill_of_a_pool_child_mid_run(world, worker, broker):
    run = start_tonight(broker.url)
    children = worker.children()
    assert len(children) == 2, children
    os.kill(children[0], signal.SIGKILL)  # its chunk is rejected back to the queue and done again
    run = wait_over(run, broker.url)
    assert_recovered(world, run, broker.url)


def test_sigkill_of_the_whole_worker_mid_run(world, worker, broker):
    worker.restarts_expected = True
    run = start_tonight(broker.url)
    worker.kill_all()
    worker.start()  # the supervisor (compose `restart:`, systemd) starts it again, if it has not yet
    run = wait_over(run, broker.url)
    assert_recovered(world, run, broker.url)


def test_the_broker_restarts_empty_mid_run(world, worker, broker):
    worker.restarts_expected = True  # the worker may exit with the lost connection (see Worker)
    run = start_tonight(broker.url)
    broker.stop()  # queued chunks are lost with it
    time.sleep(1)
    broker.start()
    run = wait_over(run, broker.url)
    assert_recovered(world, run, broker.url)


def test_the_workers_database_connections_are_terminated_mid_run(world, worker, broker):
    run = start_tonight(broker.url)
    terminated, deadline = 0, time.monotonic() + 5
    while not terminated and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # Only the worker's sessions on the test database: never another session on the server.
            cursor.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()""",
                [APP_NAME],
            )
            terminated = cursor.rowcount
        time.sleep(0.05)
    assert terminated >= 1
    run = wait_over(run, broker.url)
    assert_recovered(world, run, broker.url)


def test_recompute_now_while_the_broker_is_unreachable(world, worker, broker, cs_admin, monkeypatch):
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    broker.stop()
    api = APIClient()
    api.force_authenticate(cs_admin)
    started = time.monotonic()
    response = api.post("/api/v1/recompute/", {}, format="json")
    assert time.monotonic() - started < 5
    assert response.status_code == 503 and "unreachable" in response.json()["errors"][0]["message"]
    run = RecomputeRun.objects.get(as_of=timezone.localdate())
    assert run.status == "failed" and run.active_lock is None  # nothing holds the lock
    broker.start()
    celery_app.pool.force_close_all()
    run.refresh_from_db()
    assert_recovered(world, run, broker.url, stalled=False)
