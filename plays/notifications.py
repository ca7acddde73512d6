"""How a delivery is sent: email (Django's email framework), chat (Apprise URLs), webhook (signed JSON).

`send(channel, payload, key)` makes one attempt and reports it as an `Attempt`; it never raises
for a failure of the channel (that is the attempt's error). Retrying is the Celery task's job.
"""

import hashlib
import hmac
import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import apprise
from django.conf import settings
from django.core.mail import send_mail

SIGNATURE_HEADER = "X-CSPortal-Signature"


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


def _webhook(payload: dict, *, key: str, secret: str) -> Attempt:
    body = webhook_body(payload["body"])
    headers = {"Content-Type": "application/json", "User-Agent": "CS-Portal-Webhooks/1", "Idempotency-Key": key}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    url = urlsplit(payload["url"])
    # http.client, not urllib: headers go out as written, and a redirect is not followed (a 3xx is a failure).
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname, url.port, timeout=settings.PLAYS_WEBHOOK_TIMEOUT)
    try:
        connection.request(
            "POST", (url.path or "/") + (f"?{url.query}" if url.query else ""), body=body, headers=headers
        )
        response = connection.getresponse()
        code, reason = response.status, response.reason
        response.read(65536)
    except (OSError, http.client.HTTPException) as exc:
        return Attempt(ok=False, error=f"no answer: {exc.__class__.__name__}: {exc}"[:2000])
    finally:
        connection.close()
    ok = 200 <= code < 300
    return Attempt(ok=ok, status_code=code, error="" if ok else f"HTTP {code} {reason}")


def _apprise(url: str, payload: dict) -> Attempt:
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return Attempt(ok=False, error="not a valid Apprise URL")
    ok = notifier.notify(title=payload.get("title", ""), body=payload.get("body", ""))
    return Attempt(ok=bool(ok), error="" if ok else "Apprise could not deliver the message (see the worker log)")
