"""accounts.admin_usage: the admin's read-only usage list (UsageDaily has a composite key)."""

import datetime as dt

import pytest

from tests.factories import AccountFactory, FeatureFactory, UserFactory, usage

pytestmark = pytest.mark.django_db

URL = "/admin/accounts/usagedaily/"


@pytest.fixture
def rows():
    alpha = AccountFactory(name="Alpha Co", external_id="ALPHA")
    beta = AccountFactory(name="Beta Co", external_id="BETA")
    scheduling, reminders = FeatureFactory(key="scheduling"), FeatureFactory(key="reminders")
    for day in (dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2026, 6, 3)):
        usage(alpha, scheduling, day, events=11)
        usage(beta, reminders, day, events=22)
    return alpha, beta


def test_admin_sees_rows_filters_and_pages(client_for, cs_admin, rows, monkeypatch):
    client = client_for(cs_admin)
    html = client.get(URL).content.decode()
    assert "Alpha Co" in html and "Beta Co" in html and "6 daily usage" in html
    html = client.get(URL, {"q": "alpha"}).content.decode()
    assert "Alpha Co" in html and "Beta Co" not in html and "3 daily usage" in html
    html = client.get(
        URL, {"q": "BETA", "feature": "reminders", "since": "2026-06-02", "until": "2026-06-02"}
    ).content.decode()
    assert html.count("<td>22</td>") == 1 and "1 daily usage" in html
    html = client.get(URL, {"feature": "scheduling", "since": "not a day"}).content.decode()
    assert "3 daily usage" in html  # an unreadable day is no filter
    monkeypatch.setattr("django.contrib.admin.ModelAdmin.list_per_page", 4)
    first = client.get(URL).content.decode()
    second = client.get(URL, {"p": 2}).content.decode()
    assert first.count("<tr><td>") == 4 and second.count("<tr><td>") == 2
    assert 'href="?p=2"' in first


def test_admin_index_links_the_usage_list(client_for, cs_admin):
    assert f'href="{URL}"' in client_for(cs_admin).get("/admin/").content.decode()


@pytest.mark.parametrize("who", ["csm", "leader", "nobody"])
def test_usage_list_refused_to_non_staff(request, client_for, who):
    user = UserFactory(username="nobody") if who == "nobody" else request.getfixturevalue(who)
    response = client_for(user).get(URL)
    if who == "nobody":  # no role at all: the app's 403 page, before the admin is reached
        assert response.status_code == 403
    else:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    anonymous = client_for(None).get(URL)
    assert anonymous.status_code == 302 and "login/" in anonymous["Location"]


def test_usage_list_refused_to_staff_without_a_role(client_for):
    response = client_for(UserFactory(username="staff-only", is_staff=True)).get(URL)
    assert response.status_code == 403


@pytest.mark.parametrize("accounts", [2, 6])
def test_usage_list_query_count_does_not_grow(client_for, cs_admin, django_assert_num_queries, accounts):
    feature = FeatureFactory()
    for account in AccountFactory.create_batch(accounts):
        for d in range(3):
            usage(account, feature, dt.date(2026, 6, 1) + dt.timedelta(days=d))
    client = client_for(cs_admin)
    client.get(URL)  # warm the session and permission caches out of the count
    # session, user, user and group permissions, capped count, role groups (menu), features, the page
    with django_assert_num_queries(8):
        assert client.get(URL).status_code == 200
