"""Screenshots of the pages for docs/, taken in Debian's Chromium against a running server.

    python scripts/screenshots.py http://127.0.0.1:8000
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


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        for user in sorted({u for u, _, _ in PAGES}):
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(f"{BASE}/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", "demo")
            page.click("button[type=submit]")
            page.wait_for_url(f"{BASE}/")
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
        admin_pages(browser)
        browser.close()


def admin_pages(browser) -> None:
    """The scorecard preview and a scorecard's history: edits one scorecard, shoots, then reverts the edit."""
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.goto(f"{BASE}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "demo")
    page.click("input[type=submit]")
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
