"""Issue 15 §3: after AXES_FAILURE_LIMIT wrong passwords the username (and the address) is locked
out, on /login/ and on the admin login: the right password is refused while locked, with the
lockout page (429), and works again after the cool-off or a reset. Attempts live in PostgreSQL."""

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db
LIMIT = settings.AXES_FAILURE_LIMIT


def _post(client, url, username, password, ip="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_lockout_after_the_limit_then_cool_off(csm, cs_admin, url):
    user = cs_admin if url.startswith("/admin/") else csm
    client = Client()
    for _ in range(LIMIT - 1):
        response = _post(client, url, user.username, "wrong")
        assert response.status_code == 200  # the form again, with its error
    locked = _post(client, url, user.username, "wrong")
    assert locked.status_code == 429
    assert b"Sign-in locked for now" in locked.content
    # The right password is refused while locked, from another address too (per-user lockout).
    refused = _post(client, url, user.username, "demo", ip="10.0.0.2")
    assert refused.status_code == 429 and "_auth_user_id" not in client.session
    # After the cool-off the right password works.
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=5))
    assert _post(client, url, user.username, "demo").status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_lockout_per_address_and_reset(csm, leader):
    client = Client()
    for i in range(LIMIT):
        _post(client, "/login/", f"nobody{i}", "wrong", ip="10.9.9.9")  # a different username each time
    # The address is locked, even for a real user with the right password...
    assert _post(client, "/login/", leader.username, "demo", ip="10.9.9.9").status_code == 429
    # ...but not from elsewhere.
    assert _post(Client(), "/login/", leader.username, "demo", ip="10.1.1.1").status_code == 302
    call_command("axes_reset_ip", "10.9.9.9")
    assert _post(client, "/login/", leader.username, "demo", ip="10.9.9.9").status_code == 302


def test_the_login_page_says_so(client):
    body = client.get("/login/").content.decode()
    assert f"After {LIMIT} failed attempts, sign-in is locked for {settings.AXES_COOLOFF_MINUTES} minutes" in body


def test_a_success_resets_the_count(csm):
    client = Client()
    for _ in range(LIMIT - 1):
        _post(client, "/login/", csm.username, "wrong")
    assert _post(client, "/login/", csm.username, "demo").status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        assert _post(client, "/login/", csm.username, "wrong").status_code == 200
