"""The admin in a real browser: the scorecard preview follows an edit; a change is reverted from its history."""

import datetime as dt

import pytest

from configuration.services import config_apply
from health.models import Scorecard
from journeys.models import Journey
from people import roles
from pipeline.models import RecomputeRun
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    FeatureFactory,
    HealthScoreFactory,
    UseCaseFactory,
    UserFactory,
    VerticalFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = dt.date(2026, 6, 30)
CARD = {
    "name": "Education",
    "vertical": "Education",
    "healthy_at": 70,
    "at_risk_below": 40,
    "measures": [{"metric": "active_days_90d", "weight": 1, "red": 0, "green": 10}],
}


@pytest.fixture
def boss(db):
    # Transactional tests flush the permissions the role migration gave the CS Admin group: a superuser has them all.
    return UserFactory(username="boss", is_staff=True, is_superuser=True, roles=[roles.ADMIN])


@pytest.fixture
def education():
    vertical = VerticalFactory(name="Education")
    config_apply(document={"version": 1, "scorecards": [CARD]})
    for name, days in (("Quiet school", 3), ("Steady school", 6), ("Busy school", 9)):
        account = AccountFactory(name=name, vertical=vertical)
        AccountMetricsFactory(account=account, as_of=D, active_days_90d=days)
        HealthScoreFactory(account=account, as_of=D, band="unknown")
    return Scorecard.objects.get(name="Education")


def band_cell(page, band, column):
    return page.inner_text(f'#scorecard-preview tr[data-band="{band}"] td.{column}')


def test_editing_a_measure_changes_the_previewed_bands(page, live_server, login, boss, education, console_errors):
    login("boss")
    page.goto(f"{live_server.url}/admin/health/scorecard/{education.pk}/change/")
    assert "Distinct days with events in the last 90 days" in page.inner_text(".metric-meaning")
    page.click("#scorecard-preview-button")
    page.wait_for_selector("#scorecard-preview .preview-bands")
    # Saved: 30 at risk, 60 neutral, 90 healthy — and no edit yet.
    assert (band_cell(page, "healthy", "saved"), band_cell(page, "healthy", "edited")) == ("1", "1")
    assert page.inner_text("#scorecard-preview .changed-count") == "0"
    page.fill("input[name=measures-0-green]", "6")  # now 50 neutral, 100 healthy, 100 healthy
    page.click("#scorecard-preview-button")
    page.wait_for_function("document.querySelector('#scorecard-preview .changed-count')?.textContent === '2'")
    assert (band_cell(page, "healthy", "saved"), band_cell(page, "healthy", "edited")) == ("1", "2")
    assert (band_cell(page, "at_risk", "saved"), band_cell(page, "at_risk", "edited")) == ("1", "0")
    rows = page.locator("#scorecard-preview .preview-changes tbody tr").all_inner_texts()
    assert [" ".join(r.split()) for r in rows] == [
        "Steady school 60 Neutral → 100 Healthy",
        "Quiet school 30 At risk → 50 Neutral",
    ]
    assert Scorecard.objects.get().measures.get().green == 10  # previewing saved nothing
    assert console_errors == []


def test_admin_reverts_a_change_from_the_history(page, live_server, login, boss, education, console_errors):
    config_apply(
        document={
            "version": 1,
            "scorecards": [
                {
                    **CARD,
                    "healthy_at": 85,
                    "measures": [{"metric": "active_days_90d", "weight": 1, "red": 0, "green": 20}],
                }
            ],
        }
    )
    login("boss")
    page.goto(f"{live_server.url}/admin/health/scorecard/{education.pk}/change/")
    assert page.input_value("input[name=healthy_at]") == "85"
    page.click("a.historylink")
    page.wait_for_selector(".audit-entry")
    first = page.locator(".audit-entry").first
    assert "healthy at" in first.inner_text() and "85" in first.inner_text()
    first.locator(".revert-button").click()
    page.wait_for_selector(".revert-confirm")  # what will change, and why: then the revert
    page.fill("textarea[name=reason]", "85 was a typo")
    page.click("#revert-confirm")
    page.wait_for_selector(".messagelist .success")
    assert "Reverted 'Education'" in page.inner_text(".messagelist")
    newest = page.locator(".audit-entry").first.inner_text()
    assert "Revert" in newest and "by boss" in newest
    page.goto(f"{live_server.url}/admin/health/scorecard/{education.pk}/change/")
    assert page.input_value("input[name=healthy_at]") == "70"
    assert page.input_value("input[name=measures-0-green]") == "10"
    page.goto(f"{live_server.url}/scorecards/{education.pk}/")
    assert "score 70 or more" in page.inner_text("main")
    assert console_errors == []


def test_recompute_progress_polls_until_the_run_finishes(page, live_server, login, boss, console_errors):
    run = RecomputeRun.objects.create(as_of=D, status="running", chunks_total=4, chunks_done=1)
    login("boss")
    page.goto(f"{live_server.url}/admin/pipeline/recomputerun/{run.pk}/progress/")
    assert "1/4 chunks" in page.inner_text("#run-status")
    RecomputeRun.objects.filter(pk=run.pk).update(
        status="succeeded", chunks_done=4, accounts_scored=1234, active_lock=None
    )
    page.wait_for_selector("#run-status .accounts-scored", timeout=10_000)  # the partial re-polled itself
    assert "4/4 chunks" in page.inner_text("#run-status") and "1234" in page.inner_text("#run-status .accounts-scored")
    assert page.get_attribute("#run-status", "hx-trigger") is None  # and stopped polling
    assert console_errors == []


def test_stages_reorder_by_drag_and_drop(page, live_server, login, boss, console_errors):
    VerticalFactory(name="Education")
    UseCaseFactory(name="PTA meetings")
    FeatureFactory(key="scheduling")
    config_apply(
        document={
            "version": 1,
            "journeys": [
                {
                    "vertical": "Education",
                    "use_case": "PTA meetings",
                    "stages": [
                        {"name": "Booked", "features": ["scheduling"]},
                        {"name": "Reminded", "features": ["scheduling"]},
                    ],
                }
            ],
        }
    )
    journey = Journey.objects.get()
    login("boss")
    page.goto(f"{live_server.url}/admin/journeys/journey/{journey.pk}/change/")
    rows = page.locator("tr.form-row.has_original")
    rows.nth(1).locator(".stage-handle").drag_to(rows.nth(0), target_position={"x": 10, "y": 2})
    assert page.input_value("input[name=stages-1-position]") == "0"
    assert page.input_value("input[name=stages-0-position]") == "1"
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert list(journey.stages.values_list("name", flat=True)) == ["Reminded", "Booked"]
    assert console_errors == []
