"""Shared by the benchmarks: a dedicated, freshly migrated PostgreSQL database and timing."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
SERVER = os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432")


def bytecode_compiled() -> None:
    """Compiles the project's modules once, as the Docker image does at build time: the measured
    processes start as a deployment's would, not compiling ~150 modules each (PYTHONDONTWRITEBYTECODE
    is set here and in the image, so no run would write the bytecode itself)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-x", r"/(tests|benchmarks|\.venv|node_modules)/", str(ROOT)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def fresh_database(name: str) -> str:
    """Drops and recreates `name`, migrates it, and returns its DATABASE_URL."""
    admin = psycopg2.connect(f"{SERVER}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = f"{SERVER}/{name}"
    manage("migrate", "-v0", url=url)
    return url


def manage_env(url: str, extra: dict | None = None) -> dict:
    """The environment of a measured process on `url`: this one's, without its REDIS_URL unless
    `extra` gives one (no broker: Celery runs tasks in the process, eagerly), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    return {**env, "DATABASE_URL": url, "DEBUG": "true", **(extra or {})}


def manage(*args: str, url: str, env: dict | None = None) -> str:
    """Runs manage.py on `url` (environment: manage_env)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        check=False,
        env=manage_env(url, env),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def celery_worker(
    url: str, broker: str, name: str, *, log: Path | None = None, loglevel: str = "WARNING", env: dict | None = None
) -> subprocess.Popen:
    """Starts a real Celery worker on `url`'s database and `broker`, one task at a time (`--pool
    solo`), named `name`@host, its output to `log` (else discarded), environment manage_env plus
    `env`. The caller gives it time to connect and stops it."""
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - the worker keeps its own copy
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cs_portal", "worker", "--pool", "solo"]
            + ["--hostname", f"{name}@%h", "--loglevel", loglevel]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=manage_env(url, {"REDIS_URL": broker, **(env or {})}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log:
            out.close()


@contextmanager
def timed(label: str, results: dict):
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start
    print(f"  {label}: {results[label]:.2f} s", flush=True)


def connect(url: str):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn
