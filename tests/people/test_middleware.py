"""Login is required on every page; the admin is closed to non-staff."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from people import roles
from tests.factories import AccountFactory, HealthScoreFactory

pytestmark = pytest.mark.django_db

PAGES = ["home", "accounts:list"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_account_page_requires_login(client):
    account = AccountFactory()
    response = client.get(reverse("accounts:detail", args=[account.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["csm", "leader", "cs_admin"])
@pytest.mark.parametrize("name", PAGES)
def test_every_role_sees_the_pages(request, client_for, who, name):
    user = request.getfixturevalue(who)
    response = client_for(user).get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("who", ["csm", "leader"])
def test_admin_is_closed_to_non_staff(request, client_for, who):
    user = request.getfixturevalue(who)
    response = client_for(user).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_opens_for_cs_admin(client_for, cs_admin):
    response = client_for(cs_admin).get("/admin/accounts/account/")
    assert response.status_code == 200


def test_login_with_password(client, csm):
    response = client.post(reverse("login"), {"username": "csm", "password": "demo"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_healthz_is_public_and_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_account_detail_shows_fields_and_chart(client_for, csm):
    account = AccountFactory(name="Lincoln High")
    response = client_for(csm).get(reverse("accounts:detail", args=[account.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Lincoln High" in body and account.external_id in body
    assert "/static/vendor/plotly.min.js" in body
    assert "cdn" not in body.lower()


def test_account_page_explains_the_health_score(client_for, csm):
    account = AccountFactory(name="Lincoln High")
    HealthScoreFactory(
        account=account,
        as_of=dt.date(2026, 6, 30),
        score=25,
        band="at_risk",
        measures=[
            {"metric": "active_days_30d", "value": 5, "score": 0, "weight": 3, "points_lost": 75, "lift_value": 8},
            {"metric": "events_30d", "value": 100, "score": 100, "weight": 1, "points_lost": 0, "lift_value": None},
        ],
    )
    body = client_for(csm).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert "At risk" in body and ">25<" in body
    assert "8 active days lifts it to the next band" in body
    assert body.index("Active days (30d)") < body.index("Events (30d)")  # most points lost first


@pytest.mark.django_db(transaction=True)
def test_role_groups_and_their_permissions_survive_a_flush():
    call_command("flush", interactive=False, verbosity=0)
    csm = Group.objects.get(name=roles.CSM)
    admin = Group.objects.get(name=roles.ADMIN)
    leader = Group.objects.get(name=roles.LEADER)
    assert csm.permissions.filter(codename="add_stateddriver").exists()
    assert not leader.permissions.filter(codename="add_stateddriver").exists()
    assert admin.permissions.filter(codename="change_segment").exists()
    assert not csm.permissions.filter(codename="change_segment").exists()
    assert leader.permissions.filter(codename="view_scorecard").exists()
