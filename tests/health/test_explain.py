""" "Why it changed" adds up: the whole points listed (measure lines plus the rest: small moves and
rounding) equal the score difference, or the page says the scorecard changed."""

import random
from datetime import date
from types import SimpleNamespace

import pytest

from health.engine.scoring import score_account, scorecard_plan
from health.explain import score_change

METRICS = ["active_days_90d", "days_since_last_activity", "nps_latest", "seat_utilization_30d", "events_30d"]


def result(plan, values):
    r = score_account(values, plan)
    return SimpleNamespace(score=r.score, measures=r.measures, scorecard_id=r.scorecard_id)


def plan_for(rng, scorecard_id=1):
    measures = [(m, rng.choice([1, 1, 2, 3, 0.5]), rng.choice([0, 5, 60]), rng.choice([30, 7, 100])) for m in METRICS]
    measures = [(m, w, red, green if green != red else red + 10) for m, w, red, green in measures]
    return scorecard_plan(
        id=scorecard_id,
        name="s",
        vertical_id=None,
        use_case_id=None,
        healthy_at=70,
        at_risk_below=40,
        measures=measures,
    )


def values(rng):
    return {m: (None if rng.random() < 0.15 else round(rng.uniform(0, 100), rng.choice([0, 2]))) for m in METRICS}


@pytest.mark.parametrize("seed", range(300))
def test_lines_and_rest_sum_to_the_score_difference(seed):
    rng = random.Random(seed)
    plan = plan_for(rng)
    now, then = result(plan, values(rng)), result(plan, values(rng))
    change = score_change(now, then, days=7, then_day=date(2026, 1, 1), label=str, scorecard_name=str)
    if change.score_delta is None:
        return
    assert change.accounted == change.score_delta, (change.lines, change.rest)
    # A listed line moved the score by a whole point or more, or says a measure gained or lost its value.
    for line in change.lines:
        assert line["whole"] != 0 or "value" in line["text"], line
    assert all(line["whole"] != 0 for line in change.rest)


def test_the_issue_example_minus_six_is_fully_accounted_for():
    plan = scorecard_plan(
        id=1,
        name="s",
        vertical_id=None,
        use_case_id=None,
        healthy_at=70,
        at_risk_below=40,
        measures=[("active_days_90d", 1, 0, 30), ("events_30d", 1, 0, 200), ("nps_latest", 1, 0, 10)],
    )
    then = result(plan, {"active_days_90d": 6, "events_30d": 20, "nps_latest": 2.9})
    now = result(plan, {"active_days_90d": 4, "events_30d": 10, "nps_latest": 2.6})
    change = score_change(now, then, days=30, then_day=date(2026, 1, 1), label=str, scorecard_name=str)
    assert change.score_delta == sum(line["whole"] for line in [*change.lines, *change.rest])


def test_a_changed_scorecard_is_said_instead_of_a_sum():
    rng = random.Random(1)
    now = result(plan_for(rng, 1), values(rng))
    then = result(plan_for(rng, 2), values(rng))
    change = score_change(now, then, days=7, then_day=date(2026, 1, 1), label=str, scorecard_name=lambda i: f"#{i}")
    assert change.scorecard_changed and change.accounted is None and change.rest == []


def test_a_measure_that_lost_its_value_is_listed_with_its_points():
    plan = scorecard_plan(
        id=1,
        name="s",
        vertical_id=None,
        use_case_id=None,
        healthy_at=70,
        at_risk_below=40,
        measures=[("active_days_90d", 1, 0, 30), ("nps_latest", 1, 0, 10)],
    )
    then = result(plan, {"active_days_90d": 30, "nps_latest": 0})
    now = result(plan, {"active_days_90d": 30, "nps_latest": None})
    change = score_change(now, then, days=7, then_day=date(2026, 1, 1), label=str, scorecard_name=str)
    assert change.score_delta == 50
    assert any("no value any more" in line["text"] for line in change.lines)
    assert change.accounted == 50
