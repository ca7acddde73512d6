"""Personal API tokens: created on the profile page, shown once, stored hashed, revocable."""

import pytest

from people.models import ApiToken

pytestmark = pytest.mark.django_db


def test_profile_requires_login(client):
    assert client.get("/profile/").status_code == 302


def test_token_shown_once_and_stored_hashed(client_for, csm):
    client = client_for(csm)
    response = client.post("/profile/", {"name": "CRM sync", "scope": "read"})
    key = response.context["new_key"]
    assert key.startswith("csp_") and key in response.content.decode()
    token = ApiToken.objects.get(user=csm)
    assert key not in (token.key_hash, token.prefix) and len(token.key_hash) == 64
    # The key is never shown again.
    assert key not in client.get("/profile/").content.decode()


def test_token_authenticates_until_revoked(client_for, client, csm):
    key = client_for(csm).post("/profile/", {"name": "x", "scope": "read"}).context["new_key"]
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    token = ApiToken.objects.get(user=csm)
    client_for(csm).post(f"/profile/tokens/{token.pk}/revoke/")
    response = client.get("/api/schema/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert "Invalid or revoked API token." in response.content.decode()


def test_cannot_revoke_someone_elses_token(client_for, csm, leader):
    client_for(csm).post("/profile/", {"name": "x", "scope": "read"})
    token = ApiToken.objects.get(user=csm)
    client_for(leader).post(f"/profile/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is None


def test_api_docs_served_without_cdn(client_for, csm):
    body = client_for(csm).get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in body
    assert "cdn" not in body.lower()
