"""Secrets of plays in the configuration document: never exported in clear.

A webhook secret is exported as "********<fingerprint>" and an Apprise URL (its tokens are
secrets) as "<scheme>://********<fingerprint>". Applying a value that starts with the mask
keeps the stored secret it names, so `export | apply` changes nothing and the audit log shows
that a secret changed (its fingerprint did) without showing it. The fingerprint is an HMAC with
SECRET_KEY: without that key it says nothing about the secret.
"""

import hashlib
import hmac
import re

from django.conf import settings

MASK = "********"
MASKED_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://\*{8}(?P<fp>[0-9a-f]{8})?$", re.IGNORECASE)


def fingerprint(secret: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()[:8]


def mask_secret(secret: str) -> str:
    return f"{MASK}{fingerprint(secret)}" if secret else ""


def is_masked(value) -> bool:
    return isinstance(value, str) and value.startswith(MASK)


def mask_channel(channel: str) -> str:
    """'email' stays; an Apprise URL becomes '<scheme>://********<fingerprint>'."""
    if channel == "email" or "://" not in channel:
        return channel
    return f"{channel.split('://', 1)[0]}://{MASK}{fingerprint(channel)}"


def unmask_channel(value: str, stored: list[str]) -> str | None:
    """The stored channel a masked one names (None when none matches); other values as given."""
    match = MASKED_URL.match(value) if isinstance(value, str) else None
    if match is None:
        return value
    for channel in stored:
        if mask_channel(channel) == value or (
            match["fp"] is None and channel.lower().startswith(match["scheme"].lower() + "://")
        ):
            return channel
    return None
