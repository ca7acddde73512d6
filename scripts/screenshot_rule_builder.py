"""Screenshots of the segment rule builder and its preview for docs/, against a running demo server.

    python scripts/screenshot_rule_builder.py http://127.0.0.1:8000

Builds all(vertical = Education, any(health band = at risk, days to renewal < 90), not(tier = Tier 3))
with the builder's buttons and pickers, as an admin would; then widens the demo segment "At risk,
renewing within 90 days" and previews who would enter and leave it. Nothing is saved.
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent.parent / "docs"


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


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1360, "height": 860})
        page.goto(f"{BASE}/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{BASE}/")
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
        browser.close()


if __name__ == "__main__":
    main()
