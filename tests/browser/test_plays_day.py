"""A CSM's morning with plays: the home leads with a task a play opened, the account page says
why, the CSM writes a call note and closes the task — in Chromium, without console errors."""

import datetime as dt

import pytest

from plays.services import plays_fire
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    VerticalFactory,
    play_apply,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = dt.date(2026, 6, 30)


def test_csm_sees_a_play_task_reads_why_writes_a_note_and_closes_it(page, live_server, login, csm, console_errors):
    edu = VerticalFactory(name="Education")
    lincoln = AccountFactory(name="Lincoln High", vertical=edu, owner=csm)
    HealthScoreFactory(
        account=lincoln,
        as_of=D - dt.timedelta(days=7),
        score=62,
        band="neutral",
        measures=[
            {"metric": "active_days_90d", "value": 14, "score": 70, "weight": 1, "points_lost": 30, "lift_value": None}
        ],
    )
    HealthScoreFactory(
        account=lincoln,
        as_of=D,
        score=35,
        band="at_risk",
        measures=[
            {"metric": "active_days_90d", "value": 6, "score": 30, "weight": 1, "points_lost": 70, "lift_value": 12}
        ],
    )
    segment = SegmentFactory(name="Education at risk", rule={"field": "health_band", "op": "eq", "value": "at_risk"})
    SegmentMembershipFactory(segment=segment, account=lincoln, entered_on=D)
    play_apply(
        "Education at risk",
        {"type": "segment_entered", "segment": "Education at risk"},
        task={"title": "Call {account.name}", "assignee": "owner", "due_in_days": 1, "priority": "high"},
    )
    assert plays_fire(day=D, notify=False).fired == 1

    login("csm")
    page.wait_for_selector("#my-tasks")
    my_tasks = page.inner_text("#my-tasks")
    assert "Call Lincoln High" in my_tasks and "Overdue (1)" in my_tasks

    page.click("#my-tasks >> text=Lincoln High")
    page.wait_for_selector("#tasks .task")
    why = page.inner_text("#tasks .why")
    assert "entered segment 'Education at risk' on 2026-06-30: health 35, at risk; active days (90d) fell 14 → 6" in why

    page.click("#timeline summary")
    page.select_option("#timeline select[name=kind]", "call")
    page.fill("#timeline textarea[name=text]", "Called the principal: the new term starts in August")
    page.click("#timeline >> text=Save note")
    page.wait_for_selector("text=Note saved to the timeline.")
    assert "Called the principal" in page.inner_text("#timeline")

    page.click("#tasks button[data-action=done]")
    page.wait_for_selector("text=is done.")
    assert "No open tasks for this account." in page.inner_text("#tasks")
    timeline = page.inner_text("#timeline")
    assert "Task done: Call Lincoln High" in timeline and "Task opened: Call Lincoln High" in timeline
    assert "Entered segment “Education at risk”" in timeline
    assert console_errors == []
