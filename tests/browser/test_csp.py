"""Issue 15 §9: every page, as each role (and as a user without one), under the real
Content-Security-Policy: no `securitypolicyviolation` event and no console error. Includes the
admin pages with their own scripts (scorecard preview, journey stage order, recompute progress with
HTMX) and the Swagger UI docs."""

import pytest

from journeys.models import Journey
from pipeline.models import RecomputeRun
from tests.browser.test_every_page import demo, pages  # noqa: F401 - demo is a fixture
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


def admin_pages(world) -> list[str]:
    run = RecomputeRun.objects.order_by("-pk").first()
    return [
        "/admin/",
        "/admin/accounts/account/",
        f"/admin/accounts/account/{world['account'].pk}/change/",
        "/admin/health/scorecard/",
        f"/admin/health/scorecard/{world['scorecard'].pk}/change/",
        "/admin/segments/segment/",
        f"/admin/segments/segment/{world['segment'].pk}/change/",
        f"/admin/journeys/journey/{Journey.objects.order_by('pk').first().pk}/change/",
        "/admin/pipeline/recomputerun/",
        f"/admin/pipeline/recomputerun/{run.pk}/progress/",
        "/admin/config/",
        "/admin/configuration/auditentry/",
    ]


def _visit(page, url: str, violations: list, errors: list):
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    for v in page.evaluate("window.__csp || []"):
        violations.append(f"{url}: {v}")
    return response


@pytest.mark.parametrize("role", ["csm", "leader", "admin", "norole"])
def test_no_page_violates_the_content_security_policy(browser, live_server, demo, role):  # noqa: F811
    if role == "norole":
        UserFactory(username="norole")
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.add_init_script(LISTEN)
    page = context.new_page()
    errors, violations = [], []
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    _visit(page, f"{live_server.url}/login/", violations, errors)
    page.fill("#id_username", role)
    page.fill("#id_password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    # The listener works: an injected inline script is refused and reported.
    page.evaluate(
        "document.body.appendChild(Object.assign(document.createElement('script'), {textContent: 'window.ran = 1'}))"
    )
    assert page.evaluate("window.ran") is None and page.evaluate("window.__csp.length") == 1
    page.evaluate("window.__csp = []")
    errors.clear()  # Chromium's console line for that refusal
    urls = [path for path, allowed in pages(demo) if role in allowed or role == "norole"]
    if role == "admin":
        urls += admin_pages(demo)
    urls.append("/api/docs/")
    visited = 0
    for path in urls:
        response = _visit(page, live_server.url + path, violations, errors)
        if role == "norole" and path != "/profile/":
            assert response.status == 403, path
            continue
        assert response.status == 200, (role, path, response.status)
        if path == "/api/docs/":
            page.locator(".swagger-ui .info .title").wait_for(timeout=15_000)  # Swagger UI ran
        visited += 1
    errors = [e for e in errors if "status of 403 (Forbidden)" not in e]  # the no-role user's pages
    assert violations == [], "\n".join(violations)
    assert errors == [], "\n".join(errors)
    assert visited >= (1 if role == "norole" else 10)
    context.close()
