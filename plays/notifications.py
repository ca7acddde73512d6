"""How a delivery is sent: email (Django's email framework), chat (Apprise URLs), webhook (signed JSON).

`send(channel, payload, key)` makes one attempt and reports it as an `Attempt`; it never raises
for a failure of the channel (that is the attempt's error). Retrying is the Celery task's job.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.mail import send_mail

SIGNATURE_HEADER = "X-CSPortal-Signature"
_ANSWER_MAX = 65536  # bytes of a receiver's answer read (it is not kept)


@dataclass
class Attempt:
    ok: bool
    status_code: int | None = None
    error: str = ""
    latency_ms: int = 0


def webhook_body(payload: dict) -> bytes:
    """The exact bytes posted (and signed): compact JSON with sorted keys."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(body: bytes, secret: str) -> str:
    """'sha256=<hex HMAC-SHA256 of the body with the secret>' for the X-CSPortal-Signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(channel: str, payload: dict, *, key: str, secret: str = "") -> Attempt:
    started = time.monotonic()
    try:
        if channel == "email":
            result = _email(payload)
        elif channel == "webhook":
            result = _webhook(payload, key=key, secret=secret)
        else:
            result = _apprise(channel, payload)
    except Exception as exc:  # noqa: BLE001 - any failure of a channel is this attempt's error, never the caller's
        result = Attempt(ok=False, error=f"{exc.__class__.__name__}: {exc}"[:2000])
    result.latency_ms = int((time.monotonic() - started) * 1000)
    return result


def _email(payload: dict) -> Attempt:
    if not payload.get("to"):
        return Attempt(ok=False, error="no recipient: the assignee has no email address")
    send_mail(payload["subject"], payload["body"], settings.DEFAULT_FROM_EMAIL, [payload["to"]], fail_silently=False)
    return Attempt(ok=True)


_pool: urllib3.PoolManager | None = None


def _http() -> urllib3.PoolManager:
    """The process's connection pool (created at first use, so each forked worker has its own):
    webhooks to the same receiver reuse a kept-alive connection instead of a new TCP connection
    (and TLS handshake) per delivery."""
    global _pool  # noqa: PLW0603 - one pool per process, made lazily
    if _pool is None:
        _pool = urllib3.PoolManager(num_pools=50, maxsize=4, block=False)
    return _pool


def _webhook(payload: dict, *, key: str, secret: str) -> Attempt:
    body = webhook_body(payload["body"])
    headers = {"Content-Type": "application/json", "User-Agent": "CS-Portal-Webhooks/1", "Idempotency-Key": key}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    if urlsplit(payload["url"]).scheme not in ("http", "https"):
        return Attempt(ok=False, error="not an http(s) URL")
    timeout = urllib3.Timeout(total=settings.PLAYS_WEBHOOK_TIMEOUT)
    try:
        # Headers go out as written; no retry here (the task retries with backoff, logging each
        # attempt) and a redirect is not followed (a 3xx is a failure).
        response = _http().request(
            "POST",
            payload["url"],
            body=body,
            headers=headers,
            timeout=timeout,
            retries=False,
            redirect=False,
            preload_content=False,
        )
        code, reason = response.status, response.reason
        complete = False
        try:
            complete = len(response.read(_ANSWER_MAX + 1)) <= _ANSWER_MAX
        finally:
            # An answer read to its end leaves the connection reusable; a longer (or broken) one is dropped.
            if complete:
                response.release_conn()
            else:
                response.close()
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        return Attempt(ok=False, error=f"no answer: {exc.__class__.__name__}: {exc}"[:2000])
    ok = 200 <= code < 300
    return Attempt(ok=ok, status_code=code, error="" if ok else f"HTTP {code} {reason}")


def _apprise(url: str, payload: dict) -> Attempt:
    # Imported here: Apprise loads its plugins (~0.1 s), which only a chat delivery needs, not
    # every command and worker that imports this module.
    import apprise  # noqa: PLC0415

    notifier = apprise.Apprise()
    if not notifier.add(url):
        return Attempt(ok=False, error="not a valid Apprise URL")
    ok = notifier.notify(title=payload.get("title", ""), body=payload.get("body", ""))
    return Attempt(ok=bool(ok), error="" if ok else "Apprise could not deliver the message (see the worker log)")
