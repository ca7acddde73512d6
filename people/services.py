"""Writes for team members: personal API tokens."""

import hashlib
import secrets

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from people import roles
from people.models import ApiToken, User

TOKEN_PREFIX = "csp_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, scope: str = ApiToken.SCOPE_READ) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its key; the key is not stored and can't be shown again."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "token",
        prefix=key[: len(TOKEN_PREFIX) + 6],
        key_hash=hash_key(key),
        scope=scope,
    )
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Revokes one of the user's own tokens; False when there is no such active token."""
    return bool(ApiToken.objects.active().filter(user=user, pk=token_id).update(revoked_at=timezone.now()))


# The permissions each role is granted (app labels whose models it may view or change). The data
# migration creates the groups; `role_groups_ensure` runs after every migrate (and after the test
# suite's flushes) so groups and newly added models' permissions are always in place.
DOMAIN_APPS = ("accounts", "health", "segments", "journeys", "plays", "configuration", "dashboards", "pipeline")
CSM_EXTRA = (("accounts", "add_stateddriver"),)
ADMIN_EXTRA_APPS = ("django_celery_beat", "people", "auth")


def role_groups_ensure(*, app_config=None, **_signal_kwargs) -> None:
    """Creates the three role groups if missing and grants each its permissions (never revokes).

    As a post_migrate receiver it acts once per migrate, on the last app's signal: every app's
    permissions exist by then (auth creates them app by app on the same signal)."""
    if app_config is not None and app_config is not [a for a in apps.get_app_configs() if a.models_module][-1]:
        return

    domain = Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS)
    view = domain.filter(codename__startswith="view_")
    csm_extra = Permission.objects.filter(
        Q(*(Q(content_type__app_label=app, codename=codename) for app, codename in CSM_EXTRA), _connector=Q.OR)
    )
    admin_extra = Permission.objects.filter(content_type__app_label__in=ADMIN_EXTRA_APPS)
    grants = {
        roles.CSM: [*view, *csm_extra],
        roles.LEADER: list(view),
        roles.ADMIN: [*domain, *admin_extra],
    }
    for name, permissions in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)
