"""What would move it: per measure the value that lifts the account alone (or why not), and the
smallest combined plan to healthy — checked by re-scoring with the suggested values."""

from fractions import Fraction

from health.engine.scoring import score_account, scorecard_plan
from health.what_if import Definition, moves

MEASURES = [("active_days_90d", 2, 5, 30), ("days_since_last_activity", 1, 60, 7), ("nps_latest", 1, 4, 9)]
PLAN = scorecard_plan(
    id=1, name="s", vertical_id=None, use_case_id=None, healthy_at=70, at_risk_below=40, measures=MEASURES
)
DEFS = {m: Definition(m, Fraction(w), Fraction(r), Fraction(g)) for m, w, r, g in MEASURES}


def run(values):
    r = score_account(values, PLAN)
    return r, *moves(r.measures, DEFS, score=r.score, healthy_at=70, at_risk_below=40)


def test_every_measure_answers_and_the_suggested_values_work():
    values = {"active_days_90d": 6, "days_since_last_activity": 40, "nps_latest": 5}
    result, per_measure, plan = run(values)
    assert result.band == "at_risk"
    for move in per_measure:
        assert move.to_next is not None or move.why_not, move
        if move.to_next is not None:
            assert score_account({**values, move.metric: move.to_next}, PLAN).band in ("neutral", "healthy")
    assert plan is not None and plan.reachable
    changed = {**values, **{s["metric"]: s["value"] for s in plan.steps}}
    assert score_account(changed, PLAN).band == "healthy"
    # Smallest: no plan with fewer measures reaches healthy (dropping its last step falls short).
    if len(plan.steps) > 1:
        fewer = {**values, **{s["metric"]: s["value"] for s in plan.steps[:-1]}}
        assert score_account(fewer, PLAN).band != "healthy"


def test_a_measure_that_cannot_lift_alone_says_why():
    values = {"active_days_90d": 5, "days_since_last_activity": 60, "nps_latest": 4}  # everything at red
    _, per_measure, _ = run(values)
    nps = next(m for m in per_measure if m.metric == "nps_latest")
    assert nps.to_next is None and nps.why_not.startswith("can't lift it alone: at most 25 more points")


def test_no_value_and_full_points_are_explained():
    values = {"active_days_90d": 30, "days_since_last_activity": 70, "nps_latest": None}
    _, per_measure, _ = run(values)
    reasons = {m.metric: m.why_not for m in per_measure}
    assert "no NPS answer" in reasons["nps_latest"]
    assert reasons["active_days_90d"] == "already at full points"
