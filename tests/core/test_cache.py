"""Issue 15 §2: with Redis down the API keeps answering (throttling and caching fail open, logged),
ingestion keeps writing to PostgreSQL, and /healthz still reports the broker as down.

The cache is pointed at a port nothing listens on (found free on loopback, never the shared Redis)."""

import datetime as dt
import logging
import socket

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import UsageDaily
from cs_portal.celery import app as celery_app
from people.models import ApiToken
from people.services import api_token_create
from tests.factories import AccountFactory, FeatureFactory, UserFactory

pytestmark = pytest.mark.django_db


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections are refused


@pytest.fixture
def dead_redis_url():
    return f"redis://127.0.0.1:{_dead_port()}/0"


def _cache_settings(url: str, backend: str = "core.cache.FailOpenRedisCache") -> dict:
    return {"default": {"BACKEND": backend, "LOCATION": url, "OPTIONS": {"socket_connect_timeout": 0.5}}}


@pytest.fixture
def ingest_client(db):
    user = UserFactory(username="pipeline", roles=["CSM"])
    _, key = api_token_create(user=user, name="sync", scope=ApiToken.SCOPE_INGEST)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_the_api_and_ingestion_work_with_the_cache_down(settings, dead_redis_url, ingest_client, csm, caplog):
    settings.CACHES = _cache_settings(dead_redis_url)
    account, feature = AccountFactory(), FeatureFactory(key="scheduling")
    reader = APIClient()
    reader.force_authenticate(csm)
    with caplog.at_level(logging.WARNING):
        for path in ("/api/v1/accounts/", "/api/v1/tiers/", f"/api/v1/accounts/{account.pk}/"):
            assert reader.get(path).status_code == 200, path
        rows = [
            {"account_external_id": account.external_id, "date": "2026-06-01", "feature": "scheduling", "events": 4}
        ]
        assert ingest_client.post("/api/v1/usage/", rows, format="json").status_code == 201
    assert UsageDaily.objects.get(account=account, feature=feature, date=dt.date(2026, 6, 1)).events == 4
    assert cache.get("anything", "missing") == "missing"  # reads miss, nothing raises
    cache.set("anything", 1)
    assert "carrying on without the cache" in caplog.text or "API throttle skipped" in caplog.text


def test_the_throttle_fails_open_even_on_a_cache_that_raises(settings, dead_redis_url, csm, caplog):
    """Django's own RedisCache raises on a dead Redis: TokenRateThrottle lets the request through."""
    settings.CACHES = _cache_settings(dead_redis_url, backend="django.core.cache.backends.redis.RedisCache")
    client = APIClient()
    client.force_authenticate(csm)
    with caplog.at_level(logging.WARNING, logger="people.api_auth"):
        assert client.get("/api/v1/tiers/").status_code == 200
    assert "API throttle skipped: cache unavailable" in caplog.text


def test_healthz_still_reports_the_broker_down(client, dead_redis_url, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "task_always_eager", False)
    monkeypatch.setattr(celery_app.conf, "broker_url", dead_redis_url)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok" and response.json()["broker"].startswith("error")


def test_database_connections_are_health_checked():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
