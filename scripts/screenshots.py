"""Screenshots of the pages for docs/, taken in Debian's Chromium against a running demo server.

    python scripts/screenshots.py http://127.0.0.1:8000

The admin shots build a segment rule with the builder's buttons and pickers, preview it, and edit
a scorecard to preview its bands and show its history; the scorecard edit is reverted at the end.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent.parent / "docs"
PAGES = [
    ("leader", "/", "home-leader.png"),
    ("leader", "/accounts/", "accounts.png"),
    ("leader", "/segments/", "segments.png"),
    ("csm", "/", "home-csm.png"),
    ("csm", "/risk/", "risk.png"),
]
# Dashboards, whole page (the charts below the fold are the point).
FULL_PAGES = [
    ("leader", "/verticals/", "verticals.png"),
    ("leader", "/verticals/tech-sales/", "vertical.png"),
    ("leader", "/revenue/", "revenue.png"),
    ("leader", "/journeys/", "journeys.png"),
    ("leader", "/segments/expansion-candidates/", "segment.png"),
]


# Phones (390 px wide): the folded menu, tables scrolling inside their card.
PHONE_PAGES = [
    ("csm", "/", "phone-home-csm.png"),
    ("csm", "/accounts/", "phone-accounts.png"),
    ("leader", "/", "phone-home-leader.png"),
]


def logged_in(browser, user: str, height: int = 900, width: int = 1360):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{BASE}/login/")
    page.fill("#id_username", user)
    page.fill("#id_password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{BASE}/")
    return page


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        for user in sorted({u for u, _, _ in PAGES}):
            page = logged_in(browser, user)
            for who, path, name in PAGES:
                if who == user:
                    page.goto(BASE + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=OUT / name, full_page=False)
            for who, path, name in FULL_PAGES:
                if who == user:
                    page.goto(BASE + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=OUT / name, full_page=True)
            if user == "leader":
                page.goto(f"{BASE}/risk/")
                page.click("#risk-list tbody tr:first-child a")
                page.wait_for_selector("#heatmap-chart .main-svg")
                page.screenshot(path=OUT / "account.png", full_page=True)
            page.close()
        phone_pages(browser)
        rule_builder_pages(browser)
        admin_pages(browser)
        browser.close()


def phone_pages(browser) -> None:
    for user in sorted({u for u, _, _ in PHONE_PAGES}):
        page = logged_in(browser, user, height=844, width=390)
        for who, path, name in PHONE_PAGES:
            if who == user:
                page.goto(BASE + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=OUT / name, full_page=False)
        if user == "csm":
            page.goto(f"{BASE}/risk/")
            page.click("#risk-list tbody tr:first-child a")
            page.wait_for_selector("#trend-chart .main-svg")
            page.click("#nav-toggle")  # the folded menu, open
            page.screenshot(path=OUT / "phone-account.png", full_page=False)
        page.close()


def build_rule(page) -> None:
    def node(path):
        return page.locator(f"[data-path='{path}']")

    page.fill("#id_name", "Education renewals to save")
    page.select_option("#id_touch_model", "high")
    node("rule.all[0]").locator(".rb-value-select").select_option("Education")
    page.click("[data-path='rule'] > .rb-actions .rb-add-group")
    node("rule.all[1].any[0]").locator(".rb-field").select_option("health_band")
    node("rule.all[1].any[0]").locator(".rb-value-select").select_option("at_risk")
    node("rule.all[1]").locator(":scope > .rb-actions .rb-add-condition").click()
    node("rule.all[1].any[1]").locator(".rb-field").select_option("days_to_renewal")
    node("rule.all[1].any[1]").locator(".rb-op").select_option("lt")
    node("rule.all[1].any[1]").locator(".rb-value-number").fill("90")
    page.click("[data-path='rule'] > .rb-actions .rb-add-condition")
    node("rule.all[2]").locator(".rb-field").select_option("tier")
    node("rule.all[2]").locator(".rb-value-select").select_option("Tier 3")
    node("rule.all[2]").locator(".rb-negate").click()


def widen_renewals(page) -> None:
    """The demo segment to 180 days, Healthcare left out (say its CSMs run their own renewal playbook)."""
    page.click("text=At risk, renewing within 90 days")
    page.locator("[data-path='rule.all[1]'] .rb-value-number").nth(1).fill("180")
    page.click("[data-path='rule'] > .rb-actions .rb-add-condition")
    page.locator("[data-path='rule.all[2]'] .rb-op").select_option("not_in")
    page.locator("[data-path='rule.all[2]'] .rb-value-multi").select_option(["Healthcare"])


def rule_builder_pages(browser) -> None:
    """all(vertical = Education, any(health band = at risk, days to renewal < 90), not(tier = Tier 3))
    built as an admin would; then the demo segment "At risk, renewing within 90 days" widened and
    previewed (who would enter and leave). Nothing is saved."""
    page = logged_in(browser, "admin", height=860)
    page.goto(f"{BASE}/admin/segments/segment/add/")
    if page.locator("#toggle-nav-sidebar").is_visible():
        page.click("#toggle-nav-sidebar")  # the form gets the page's width
    build_rule(page)
    page.set_viewport_size({"width": 1360, "height": 1060})
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.move(0, 0)  # no button left in its hover state
    page.screenshot(path=OUT / "admin-rule-builder.png")
    page.goto(f"{BASE}/admin/segments/segment/")
    widen_renewals(page)
    page.click(".rb-preview-button")
    page.wait_for_selector(".rule-preview-stats")
    page.set_viewport_size({"width": 1360, "height": 1000})
    page.evaluate("document.querySelector('.field-rule').scrollIntoView({block: 'start'})")
    page.mouse.move(0, 0)
    page.screenshot(path=OUT / "admin-rule-preview.png")
    page.close()


def admin_pages(browser) -> None:
    """The scorecard preview and a scorecard's history: edits one scorecard, shoots, then reverts the edit."""
    page = logged_in(browser, "admin")
    page.goto(f"{BASE}/admin/health/scorecard/?q=Tech")
    page.click("#result_list tbody tr:first-child th a")
    green = page.locator("input[name=measures-0-green]")
    green.fill(str(round(float(green.input_value()) * 0.5)))
    page.fill("input[name=healthy_at]", "65")
    page.fill("input[name=at_risk_below]", "35")
    page.click("#scorecard-preview-button")
    page.wait_for_selector("#scorecard-preview .preview-bands")
    page.locator("#scorecard-preview-box").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 260)")
    page.screenshot(path=OUT / "admin-scorecard-preview.png")
    page.click("input[name=_continue]")
    page.click("a.historylink")
    page.wait_for_selector(".audit-entry")
    page.screenshot(path=OUT / "admin-history.png")
    page.locator(".audit-entry").first.locator("button.revert-button").click()  # the demo data as it was
    page.wait_for_selector(".messagelist .success")
    page.close()


if __name__ == "__main__":
    main()
