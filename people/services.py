"""Writes for team members: personal API tokens."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from people.models import ApiToken, User

TOKEN_PREFIX = "csp_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, scope: str = ApiToken.SCOPE_READ) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its key; the key is not stored and can't be shown again."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip() or "token", prefix=key[: len(TOKEN_PREFIX) + 6], key_hash=hash_key(key), scope=scope
    )
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Revokes one of the user's own tokens; False when there is no such active token."""
    return bool(ApiToken.objects.active().filter(user=user, pk=token_id).update(revoked_at=timezone.now()))
