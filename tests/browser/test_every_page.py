"""Every page, as each role, on the demo data with a month of history: the charts are drawn with
data, the page's own links work and the console stays clean."""

import datetime as dt

import pytest
from django.core.management import call_command

from accounts.models import Account, Vertical
from health.models import Scorecard
from segments.models import Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TODAY = dt.date(2026, 6, 30)


@pytest.fixture
def demo():
    call_command("seed_demo", accounts=60, today=TODAY.isoformat(), verbosity=0)
    call_command("recompute", as_of=TODAY.isoformat(), history=31, verbosity=0)
    account = Account.objects.filter(churned_on__isnull=True).order_by("-arr").first()
    return {
        "account": account,
        "vertical": Vertical.objects.get(name="Tech Sales"),
        "segment": Segment.objects.order_by("name").first(),
        "scorecard": Scorecard.objects.order_by("name").first(),
    }


def pages(demo) -> list[tuple[str, set[str]]]:
    """(path, roles that may open it)."""
    everyone = {"csm", "leader", "admin"}
    return [
        ("/", everyone),
        ("/accounts/", everyone),
        (f"/accounts/{demo['account'].pk}/", everyone),
        ("/risk/", everyone),
        ("/verticals/", everyone),
        (f"/verticals/{demo['vertical'].slug}/", everyone),
        ("/revenue/", {"leader", "admin"}),
        ("/segments/", everyone),
        (f"/segments/{demo['segment'].slug}/", everyone),
        ("/journeys/", everyone),
        ("/scorecards/", everyone),
        (f"/scorecards/{demo['scorecard'].pk}/", everyone),
        ("/profile/", everyone),
        ("/admin/", {"admin"}),
    ]


@pytest.mark.parametrize("role", ["csm", "leader", "admin"])
def test_every_page_draws_its_charts_for_each_role(browser, live_server, demo, role):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", role)
    page.fill("#id_password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    drawn = 0
    for path, allowed in pages(demo):
        response = page.goto(live_server.url + path)
        if role not in allowed:
            assert response.status == 403 or "/login/" in page.url, (role, path, response.status)
            if response.status == 403:
                assert "Not allowed" in page.inner_text("h1")  # our page, with the menu
                errors.remove(
                    f"{page.url}: Failed to load resource: the server responded with a status of 403 (Forbidden)"
                )
            continue
        assert response.status == 200, (role, path, response.status)
        charts = page.locator("[data-figure]")
        for i in range(charts.count()):
            chart = charts.nth(i)
            chart.locator(".main-svg").first.wait_for(state="attached", timeout=10_000)
            # Drawn with data: at least one trace group in the plot (bars, points, lines, cells…).
            assert chart.locator(".trace, .scatterlayer path, .bars, .heatmaplayer image, .treemaplayer").count() > 0, (
                role,
                path,
                chart.get_attribute("id"),
            )
            drawn += 1
    assert drawn >= 15, f"{role}: only {drawn} charts drawn"
    # The menu shows what the role may open, and nothing else.
    page.goto(f"{live_server.url}/")
    nav = page.inner_text("nav")
    assert ("Revenue" in nav) == (role != "csm")
    assert ("Admin" in nav) == (role == "admin")
    assert errors == []
    context.close()
