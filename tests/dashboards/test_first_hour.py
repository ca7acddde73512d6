"""Issue 14 on the demo data: health on the account list, churned and overdue accounts, the
leader home, the admin for staff only and the app's error pages."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import override_settings

from accounts.models import Account
from dashboards.account_list import LIST_CSV_COLUMNS
from dashboards.exports import COLUMNS
from people.models import User

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def demo(db):
    call_command("seed_demo", accounts=60, today=TODAY.isoformat(), verbosity=0)
    # One day of results keeps the file fast; the trend against 30/90 days is the browser suite's.
    call_command("recompute", as_of=TODAY.isoformat(), verbosity=0)
    return {u: User.objects.get(username=u) for u in ("csm", "leader", "admin")}


def rows(html: str) -> int:
    return html.count('<tr>\n      <td><a href="/accounts/')


def test_the_list_shows_health_and_says_which_accounts_it_counts(client_for, demo):
    html = client_for(demo["leader"]).get("/accounts/").content.decode()
    for header in ("Score", "Band", "30-day change", "Days since last activity", "Renewal"):
        assert header in html
    active = Account.objects.active_on(TODAY).count()
    churned = Account.objects.count() - active
    assert f"{active} active accounts" in html
    assert f"{churned} churned not shown" in html
    both = client_for(demo["leader"]).get("/accounts/", {"status": "all"}).content.decode()
    assert f"{active} active, {churned} churned" in both


def test_a_csm_sees_their_own_accounts_by_default_and_everyone_on_request(client_for, demo):
    client = client_for(demo["csm"])
    mine = Account.objects.active_on(TODAY).filter(owner=demo["csm"]).count()
    html = client.get("/accounts/").content.decode()
    assert f"{mine} active accounts" in html and "My accounts" in html
    everyone = client.get("/accounts/", {"owner": ""}).content.decode()
    assert f"{Account.objects.active_on(TODAY).count()} active accounts" in everyone


def test_sorting_by_score_and_filters(client_for, demo):
    client = client_for(demo["leader"])
    response = client.get("/accounts/", {"sort": "-score", "status": "active"})
    scores = [a.score_now for a in response.context["page"].object_list]
    valued = [s for s in scores if s is not None]
    assert valued == sorted(valued, reverse=True) and scores[: len(valued)] == valued  # nulls last
    at_risk = client.get("/accounts/", {"band": "at_risk"}).context["page"].object_list
    assert at_risk and all(a.band_now == "at_risk" for a in at_risk)
    churned = client.get("/accounts/", {"status": "churned"}).context["page"].object_list
    assert churned and all(a.churned_on <= TODAY for a in churned)
    overdue = client.get("/accounts/", {"renewal": "overdue"}).context["page"].object_list
    assert all(a.renewal_date < TODAY for a in overdue)
    bad = client.get("/accounts/", {"band": "purple"}).content.decode()
    assert "Ignored an invalid filter" in bad


def test_the_list_csv_keeps_the_spec_columns_then_adds_owner_and_renewal(client_for, demo):
    response = client_for(demo["leader"]).get("/accounts/export.csv", {"status": "all"})
    body = b"".join(response.streaming_content).decode()
    table = list(csv.reader(io.StringIO(body)))
    assert table[0] == LIST_CSV_COLUMNS and table[0][: len(COLUMNS)] == COLUMNS
    assert len(table) - 1 == Account.objects.count()
    owner = table[0].index("owner_email")
    assert all(row[owner].endswith("@cs-portal.demo") for row in table[1:])


def test_a_churned_account_has_no_countdown_driver_form_or_suggestions(client_for, demo):
    account = Account.objects.filter(churned_on__lte=TODAY).first()
    html = client_for(demo["csm"]).get(f"/accounts/{account.pk}/").content.decode()
    assert "churned" in html and "renews in" not in html
    assert "Record stated driver" not in html
    assert "no suggestions for an account that has left" in html


def test_an_active_account_past_its_renewal_is_flagged_overdue(client_for, demo):
    account = Account.objects.active_on(TODAY).first()
    Account.objects.filter(pk=account.pk).update(renewal_date=TODAY - dt.timedelta(days=5), owner=demo["csm"])
    client = client_for(demo["csm"])
    page = client.get(f"/accounts/{account.pk}/").content.decode()
    assert 'id="renewal-overdue"' in page and "renewal date passed 5 days ago" in page
    home = client.get("/").content.decode()
    assert account.name in home.split('id="overdue"')[1].split("</section>")[0]


def test_the_leader_home_has_trend_nrr_renewals_and_where_to_look(client_for, demo):
    html = client_for(demo["leader"]).get("/").content.decode()
    for marker in (
        'id="kpi-arr"',
        'id="kpi-arr_at_risk"',
        'id="kpi-at_risk"',
        "vs 30 days ago",
        "vs 90 days ago",
        'id="nrr"',
        "Renewals in the next 90 days",
        "Where to look first",
        "your highest-grossing vertical",
    ):
        assert marker in html, marker


def test_csm_and_leader_get_the_apps_not_allowed_page_at_admin(client_for, demo):
    for who in ("csm", "leader"):
        response = client_for(demo[who]).get("/admin/", follow=True)  # via the admin's login page
        assert response.status_code == 403 and "Not allowed" in response.content.decode()
        assert "menu above" in response.content.decode()
    assert client_for(demo["admin"]).get("/admin/").status_code == 200


@override_settings(DEBUG=True, DEBUG_ERROR_PAGES=False)
def test_with_debug_on_a_missing_page_is_the_apps_404(client_for, demo):
    # The middleware reads DEBUG when it is built: a fresh client builds the handler anew.
    response = client_for(demo["csm"]).get("/no-such-page/")
    assert response.status_code == 404 and "Back to your home page" in response.content.decode()
