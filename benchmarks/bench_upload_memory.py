"""Peak memory (RSS) of the server process for hostile uploads (issue 15, point 6; goal ≤ 150 MB).

    .venv/bin/python benchmarks/bench_upload_memory.py

Each scenario runs in a fresh Python process that sets Django up on a dedicated PostgreSQL database
and sends one request through the Django test client — the whole request cycle (middleware, DRF,
the import, the admin job run eagerly as in the demo) in that process; the body is produced lazily
by a stream object, so the client side holds none of it. The figure is the process's ru_maxrss.
Baseline: the same process answering one tiny request.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, ROOT, fresh_database  # noqa: E402

MB = 1 << 20
HEADER = b"account_external_id,date,feature,events,active_users\n"
ACCOUNTS_HEADER = (
    b"external_id,name,vertical,use_cases,arr,owner_email,employees,persona,seats,start_date,renewal_date\n"
)
BOUNDARY = "BenchBoundary"


class Body:
    """head + `size` bytes of `fill` + tail, read on demand; counts what the server read."""

    def __init__(self, head: bytes, size: int, tail: bytes = b"", fill: bytes = b"A1,2026-06-01,x,1,1\n"):
        self.parts = [head, None, tail]
        self.size, self.fill, self.total = size, fill, len(head) + size + len(tail)
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        n = self.total - self.pos if n is None or n < 0 else min(n, self.total - self.pos)
        out = bytearray()
        while len(out) < n:
            head_len, at = len(self.parts[0]), self.pos + len(out)
            if at < head_len:
                out += self.parts[0][at : at + n - len(out)]
            elif at < head_len + self.size:
                offset = (at - head_len) % len(self.fill)
                want = min(n - len(out), head_len + self.size - at)
                block = self.fill * (want // len(self.fill) + 2)
                out += block[offset : offset + want]
            else:
                start = at - head_len - self.size
                out += self.parts[2][start : start + n - len(out)]
        self.pos += n
        return bytes(out)

    def readline(self, n: int = -1) -> bytes:
        return self.read(n if n and n > 0 else 65536)


def multipart(kind: str, head: bytes, size: int, fill: bytes, tail: bytes) -> Body:
    start = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return Body(start + head, size, tail + f"\r\n--{BOUNDARY}--\r\n".encode(), fill)


SCENARIOS = {
    "baseline: one tiny API request": ("api", lambda: Body(HEADER, 20), {}),
    "API: 200 MB body with Content-Length": ("api", lambda: Body(HEADER, 200 * MB), {}),
    "API: 200 MB chunked body": ("api", lambda: Body(HEADER, 200 * MB), {"chunked": True}),
    "API: CSV body with a 15 MB cell (under the cap)": (
        "api",
        lambda: Body(HEADER + b"A1,2026-06-01,", 15 * MB, b",1,1\n", b"f"),
        {},
    ),
    "admin: usage file with a 50 MB cell (COPY path)": (
        "admin",
        lambda: multipart("usage", HEADER + b"A1,2026-06-01,", 50 * MB, b"f", b",1,1\n"),
        {},
    ),
    "admin: accounts file with a 50 MB cell (streaming path)": (
        "admin",
        lambda: multipart("accounts", ACCOUNTS_HEADER + b"A9,", 50 * MB, b"n", b",Education,,1,,,,,,\n"),
        {},
    ),
    "admin: 200 MB usage file (2.1 M rows of an unknown account)": (
        "admin",
        lambda: multipart("usage", HEADER, 200 * MB, b"NOPE,2026-06-01,x,1,1\n", b""),
        {},
    ),
}


def scenario(name: str) -> None:
    """In the child process: set Django up, send the request, print status, time and peak RSS."""
    sys.path.insert(0, str(ROOT))
    import django  # noqa: PLC0415 - the parent process never sets Django up

    django.setup()
    from django.test import Client  # noqa: PLC0415 - after django.setup()

    from accounts.models import Account, Vertical  # noqa: PLC0415 - idem
    from people.models import ApiToken, User  # noqa: PLC0415 - idem
    from people.services import api_token_create  # noqa: PLC0415 - idem

    vertical, _ = Vertical.objects.get_or_create(name="Education", defaults={"slug": "education"})
    Account.objects.get_or_create(external_id="A1", defaults={"name": "A1", "vertical": vertical, "arr": 1})
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    token = api_token_create(user=admin, name="bench", scope=ApiToken.SCOPE_INGEST)[1]
    where, make, options = SCENARIOS[name]
    body = make()
    client = Client()
    if where == "api":
        extra = {"CONTENT_TYPE": "text/csv", "HTTP_AUTHORIZATION": f"Bearer {token}", "wsgi.input": body}
        if options.get("chunked"):
            extra.update(CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked")
        else:
            extra["CONTENT_LENGTH"] = str(body.total)
        url = "/api/v1/usage/"
    else:
        client.force_login(admin)
        extra = {
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
            "CONTENT_LENGTH": str(body.total),
            "wsgi.input": body,
        }
        url = "/admin/accounts/account/import/"
    started = time.perf_counter()
    response = client.generic("POST", url, b"", **extra)
    seconds = time.perf_counter() - started
    outcome = response.content.decode()[:160].replace("\n", " ")
    if where == "admin":
        from accounts.models import ImportJob  # noqa: PLC0415 - after django.setup()

        job = ImportJob.objects.order_by("-pk").first()
        outcome = f"job {job.status}: {job.failure or (job.result or {}).get('summary') or ''} {(job.result or {}).get('errors', [''])[:1]}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RESULT\t{response.status_code}\t{seconds:.1f}\t{peak:.0f}\t{body.pos / MB:.1f}\t{outcome[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--accounts", help="ignored (make bench passes it to every benchmark)")
    args = parser.parse_args()
    if args.scenario:
        scenario(args.scenario)
        return
    url = fresh_database("cs_portal_bench_upload")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "true",
        "ALLOWED_HOSTS": "testserver",
        "DJANGO_SETTINGS_MODULE": "cs_portal.settings",
        "MEDIA_ROOT": str(OUT / "media"),
    }
    env.pop("REDIS_URL", None)  # eager Celery: the admin job runs in the server process, as in the demo
    lines = ["scenario | status | seconds | peak RSS MB | MB read | outcome", "---|---|---|---|---|---"]
    for name in SCENARIOS:
        done = subprocess.run(
            [sys.executable, __file__, "--scenario", name],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        result = next((line for line in done.stdout.splitlines() if line.startswith("RESULT\t")), None)
        if result is None:
            raise SystemExit(f"{name} failed:\n{done.stdout}\n{done.stderr}")
        status, seconds, peak, read, outcome = result.split("\t")[1:]
        lines.append(f"{name} | {status} | {seconds} | {peak} | {read} | {outcome}")
        print(lines[-1], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "upload_memory.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
