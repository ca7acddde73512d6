"""Issue 14 in Chromium on the demo data: every page fits a 390 px phone (no horizontal scroll) with
its nav collapsed behind "Menu"; no page shows a raw band, touch-model, feature or metric key; the
account list's health columns sort; churned and overdue accounts; the leader home."""

import datetime as dt
import re

import pytest
from django.core.management import call_command

from accounts.models import Account, Vertical
from health.models import Scorecard
from segments.models import Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TODAY = dt.date(2026, 6, 30)
RAW_KEYS = re.compile(
    r"\b(at_risk|not_started|self_service|booking_pages|calendar_sync|video_rooms|round_robin|crm_sync|health_band|"
    r"days_to_renewal|active_days_\d+d|active_months_365d|events_30d|active_users_30d|seat_utilization_30d|"
    r"features_used_90d|days_since_last_activity|nps_latest|journey_progress)\b"
)
# Pages whose subject is the keys themselves: the feature admin lists each feature's key.
KEY_PAGES = {"/admin/accounts/feature/"}


@pytest.fixture
def demo():
    call_command("seed_demo", accounts=60, today=TODAY.isoformat(), verbosity=0)
    call_command("recompute", as_of=TODAY.isoformat(), history=31, verbosity=0)
    churned = Account.objects.filter(churned_on__lte=TODAY).first()
    overdue = Account.objects.active_on(TODAY).order_by("-arr").first()
    Account.objects.filter(pk=overdue.pk).update(renewal_date=TODAY - dt.timedelta(days=3))
    return {
        "account": Account.objects.active_on(TODAY).order_by("arr").first(),
        "churned": churned,
        "overdue": overdue,
        "vertical": Vertical.objects.get(name="Tech Sales"),
        "segment": Segment.objects.order_by("name").first(),
        "scorecard": Scorecard.objects.order_by("name").first(),
    }


def pages(demo, role) -> list[str]:
    paths = [
        "/",
        "/accounts/",
        "/accounts/?status=all&sort=-score",
        f"/accounts/{demo['account'].pk}/",
        f"/accounts/{demo['churned'].pk}/",
        f"/accounts/{demo['overdue'].pk}/",
        "/risk/",
        "/verticals/",
        f"/verticals/{demo['vertical'].slug}/",
        "/segments/",
        f"/segments/{demo['segment'].slug}/",
        "/journeys/",
        "/scorecards/",
        f"/scorecards/{demo['scorecard'].pk}/",
        "/profile/",
        "/no-such-page/",
    ]
    if role != "csm":
        paths.append("/revenue/")
    if role == "admin":
        paths += [
            "/admin/",
            "/admin/accounts/account/",
            f"/admin/accounts/account/{demo['account'].pk}/change/",
            "/admin/health/scorecard/",
            f"/admin/health/scorecard/{demo['scorecard'].pk}/change/",
            "/admin/health/healthscore/",
            "/admin/segments/segment/",
            "/admin/segments/segment/add/",
            f"/admin/segments/segment/{demo['segment'].pk}/change/",
            "/admin/journeys/journey/",
            "/admin/journeys/journey/add/",
            "/admin/pipeline/recomputerun/",
            "/admin/config/",
        ]
    else:
        paths.append("/admin/")  # the app's "Not allowed" page
    return paths


def log_in(browser, live_server, role, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", role)
    page.fill("#id_password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


@pytest.mark.parametrize("role", ["csm", "leader", "admin"])
def test_every_page_fits_a_phone_and_shows_no_raw_keys(browser, live_server, demo, role):
    context, page = log_in(browser, live_server, role, 390)
    problems = []
    for path in pages(demo, role):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            problems.append(f"{path}: {width} px wide")
        if path not in KEY_PAGES:
            text = (
                page.inner_text("body")
                + " "
                + " ".join(page.eval_on_selector_all("option", "els => els.map(e => e.textContent)"))
            )
            if hits := sorted(set(RAW_KEYS.findall(text))):
                problems.append(f"{path}: raw keys {hits}")
    assert problems == []
    # The nav is behind "Menu" on a phone, and opens.
    page.goto(live_server.url + "/")
    assert not page.locator("#main-nav").is_visible()
    page.click("#nav-toggle")
    assert page.locator("#main-nav a", has_text="Accounts").is_visible()
    context.close()


def test_raw_keys_stay_out_of_wide_pages_too(browser, live_server, demo):
    context, page = log_in(browser, live_server, "leader", 1440)
    for path in pages(demo, "leader"):
        page.goto(live_server.url + path)
        assert not RAW_KEYS.findall(page.inner_text("body")), path
    context.close()


def test_the_account_list_sorts_by_health(browser, live_server, demo):
    context, page = log_in(browser, live_server, "leader", 1440)
    page.goto(f"{live_server.url}/accounts/")
    for header in ("Score", "Band", "30-day change", "Days since last activity"):
        assert page.locator("#account-list thead th", has_text=header).count() == 1
    page.click("#account-list thead a:has-text('Score')")  # largest first
    page.wait_for_url(re.compile(r"sort=-score"))
    page.wait_for_function("document.querySelector('#account-list th[aria-sort=descending]') !== null")
    scores = [int(s) for s in page.locator("#account-list td.score").all_inner_texts() if s.strip().isdigit()]
    assert scores and scores == sorted(scores, reverse=True)
    page.click("#account-list thead a:has-text('Score')")  # then smallest first
    page.wait_for_url(re.compile(r"sort=score"))
    page.wait_for_function("document.querySelector('#account-list th[aria-sort=ascending]') !== null")
    scores = [int(s) for s in page.locator("#account-list td.score").all_inner_texts() if s.strip().isdigit()]
    assert scores == sorted(scores)
    page.select_option("select[name=band]", "at_risk")
    page.wait_for_url(re.compile(r"band=at_risk"))
    page.wait_for_function(
        "[...document.querySelectorAll('#account-list tbody .pill[class*=band-]')].every(p => /At risk/.test(p.textContent))"
    )
    assert "active account" in page.inner_text("#account-count")
    context.close()


def test_churned_and_overdue_accounts_and_the_leader_home(browser, live_server, demo):
    context, page = log_in(browser, live_server, "leader", 1440)
    page.goto(f"{live_server.url}/accounts/{demo['churned'].pk}/")
    assert page.locator("#churned-pill").is_visible()
    assert page.locator("#driver-form").count() == 0
    assert "renews in" not in page.inner_text("#account-summary")
    page.goto(f"{live_server.url}/accounts/{demo['overdue'].pk}/")
    assert page.locator("#renewal-overdue").is_visible()
    page.goto(f"{live_server.url}/risk/")
    page.goto(f"{live_server.url}/")
    for kpi in ("#kpi-arr", "#kpi-arr_at_risk", "#kpi-at_risk", "#nrr", "#renewals", "#look-first"):
        assert page.locator(kpi).is_visible(), kpi
    assert "vs 30 days ago" in page.inner_text("#kpi-arr")
    assert "highest-grossing" in page.inner_text("#look-first")
    context.close()
