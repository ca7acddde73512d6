"""API authentication and permissions shared by every app's API."""

import logging

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from people import roles
from people.models import ApiToken
from people.services import hash_key

logger = logging.getLogger(__name__)


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` (or `Token <key>`) with a personal API token."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        token = ApiToken.objects.active().select_related("user").filter(key_hash=hash_key(header[1])).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        # One write per minute at most keeps "last used" useful without a write per request.
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return "Bearer"


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "people.api_auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token from /profile/."}


class IsTeamMember(permissions.BasePermission):
    """Reads for every team member (CSM, leader, admin)."""

    message = "You need a CS Portal role (CSM, CS Leader or CS Admin)."

    def has_permission(self, request, view):
        return bool(request.user and roles.is_team_member(request.user))


class IsAdminOrReadOnly(IsTeamMember):
    """Rule writes (segments, scorecards, journeys, config, recompute) for CS Admins only."""

    message = "Only CS Admins can change rules."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or roles.is_admin(request.user)


class IsLeaderOrAdmin(IsTeamMember):
    message = "Revenue reports are for CS Leaders and CS Admins."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and roles.is_leader_or_admin(request.user)


class CanIngest(permissions.BasePermission):
    """Usage and NPS ingestion: API tokens with the ingest scope (or a CS Admin's session), of a
    user who still has a role: an offboarded user's token ingests nothing."""

    message = "Ingestion needs an API token with the 'ingest' scope, of a user with a CS Portal role."

    def has_permission(self, request, view):
        if not (request.user and roles.is_team_member(request.user)):
            return False
        if isinstance(request.auth, ApiToken):
            return request.auth.can_ingest
        return roles.is_admin(request.user)


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """Per token when a token is used, per user otherwise. The counters live in the cache: when it
    cannot be read or written (Redis down) the request is let through and the failure logged, so a
    cache outage costs throttling, not the API (core.cache.FailOpenRedisCache already swallows
    Redis errors; this also covers any other cache backend that raises)."""

    scope = "token"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # noqa: BLE001 - whatever the cache raises, the API stays up
            logger.warning("API throttle skipped: cache unavailable (%s: %s)", type(exc).__name__, exc)
            return True

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
