"""SPEC §5.2 scoring: measure scores both directions, clamping, missing values, halves, selection."""

import datetime as dt
import math
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from health.engine.scoring import (
    MeasurePlan,
    ScorecardPlan,
    Scorer,
    measure_score,
    round_half_up,
    score_account,
    scorecard_plan,
)
from health.models import HealthScore, Measure, Scorecard
from pipeline.services import recompute
from segments.models import TouchModelDay
from tests.factories import AccountFactory, FeatureFactory, UseCaseFactory, VerticalFactory, usage

D = dt.date(2026, 6, 30)


def plan(*measures, healthy_at=70, at_risk_below=40):
    return ScorecardPlan(
        1,
        "t",
        None,
        None,
        healthy_at,
        at_risk_below,
        tuple(MeasurePlan(m, Fraction(w), Fraction(r), Fraction(g)) for m, w, r, g in measures),
    )


def test_measure_score_higher_is_better_and_clamped():
    assert measure_score(3, Fraction(1), Fraction(5)) == 50
    assert measure_score(0, Fraction(1), Fraction(5)) == 0
    assert measure_score(9, Fraction(1), Fraction(5)) == 100


def test_measure_score_lower_is_better():
    assert measure_score(75, Fraction(120), Fraction(30)) == 50
    assert measure_score(10, Fraction(120), Fraction(30)) == 100
    assert measure_score(500, Fraction(120), Fraction(30)) == 0


def test_weighted_mean_over_measures_with_values_only():
    result = score_account(
        {"active_days_90d": 3, "nps_latest": None},
        plan(("active_days_90d", 2, 1, 5), ("nps_latest", 5, 0, 10)),
    )
    assert result.score == 50 and result.band == "neutral"
    assert result.measures[1]["value"] is None and result.measures[1]["points_lost"] is None


def test_no_value_at_all_means_no_score():
    result = score_account({"nps_latest": None}, plan(("nps_latest", 1, 0, 10)))
    assert (result.score, result.band) == (None, "unknown")


@pytest.mark.parametrize(("value", "expected"), [(169, 85), (5, 3), (7, 4), (168, 84), (171, 86)])
def test_rounding_halves_up_not_half_to_even(value, expected):
    # One measure on a 0..200 scale: the score is value / 2, so odd values land on halves.
    result = score_account({"events_30d": value}, plan(("events_30d", 1, 0, 200)))
    assert result.score == expected


def test_weighted_mean_is_exact_where_floats_are_not():
    # (0.1×100 + 0.2×25.75) / 0.3 is exactly 50.5; in floats it is 50.4999… and would round to 50.
    p = plan(("events_30d", Fraction("0.1"), 0, 100), ("seat_utilization_30d", Fraction("0.2"), 0, 100))
    assert (0.1 * 100 + 0.2 * 25.75) / (0.1 + 0.2) < 50.5
    assert score_account({"events_30d": 100, "seat_utilization_30d": Fraction("25.75")}, p).score == 51


def test_round_half_up_is_exact_where_floats_are_not():
    # 2.675 is 2.67499999… as a float; as a Fraction it is exact.
    assert round_half_up(Fraction("84.5")) == 85
    assert round_half_up(Fraction("2.5")) == 3
    assert round_half_up(Fraction(Decimal("69.5"))) == 70


def test_bands_at_the_thresholds():
    p = plan(("events_30d", 1, 0, 100), healthy_at=70, at_risk_below=40)
    assert score_account({"events_30d": 70}, p).band == "healthy"
    assert score_account({"events_30d": 69}, p).band == "neutral"
    assert score_account({"events_30d": 40}, p).band == "neutral"
    assert score_account({"events_30d": 39}, p).band == "at_risk"


def test_points_lost_and_lift_value():
    p = plan(("active_days_30d", 3, 5, 18), ("events_30d", 1, 0, 100))
    result = score_account({"active_days_30d": 5, "events_30d": 100}, p)
    # (3×0 + 1×100) / 4 = 25 → at risk; lifting to 40 needs days score ≥ (39.5×4 − 100)/3 = 19.33… → 7.51 → 8 days
    assert result.score == 25 and result.band == "at_risk"
    days, events = result.measures
    assert days["points_lost"] == 75 and events["points_lost"] == 0
    assert days["lift_value"] == 8
    assert events["lift_value"] is None  # already perfect: can't lift the account alone
    lifted = score_account({"active_days_30d": 8, "events_30d": 100}, p)
    assert lifted.band == "neutral"
    assert score_account({"active_days_30d": 7, "events_30d": 100}, p).band == "at_risk"


def test_lift_value_of_a_lower_is_better_metric_rounds_down():
    p = plan(("days_since_last_activity", 1, 120, 30))
    result = score_account({"days_since_last_activity": 110}, p)
    assert result.band == "at_risk"
    # score ≥ 39.5 ⇔ days ≤ 120 − 0.395×90 = 84.45 → 84
    assert result.measures[0]["lift_value"] == 84
    assert score_account({"days_since_last_activity": 84}, p).band == "neutral"


@pytest.mark.django_db
def test_scorecard_selection_by_specificity_and_inactive_skipped():
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    pta, demos = UseCaseFactory(name="PTA meetings"), UseCaseFactory(name="Demos")
    a_edu_pta = AccountFactory(vertical=edu, primary_use_case=pta)
    a_edu_other = AccountFactory(vertical=edu, primary_use_case=demos)
    a_tech_pta = AccountFactory(vertical=tech, primary_use_case=pta)
    a_tech_demo = AccountFactory(vertical=tech, primary_use_case=demos)
    a_none = AccountFactory(vertical=tech, primary_use_case=None)

    def card(name, vertical=None, use_case=None, active=True):
        sc = Scorecard.objects.create(name=name, vertical=vertical, use_case=use_case, active=active)
        Measure.objects.create(scorecard=sc, metric="events_30d", weight=1, red=0, green=10)
        return sc

    card("edu+pta", edu, pta)
    card("edu", edu)
    card("pta", None, pta)
    card("any")
    card("tech+demos (off)", tech, demos, active=False)
    recompute(as_of=D)
    chosen = dict(HealthScore.objects.values_list("account_id", "scorecard__name"))
    assert chosen[a_edu_pta.pk] == "edu+pta"
    assert chosen[a_edu_other.pk] == "edu"
    assert chosen[a_tech_pta.pk] == "pta"
    assert chosen[a_tech_demo.pk] == "any"
    assert chosen[a_none.pk] == "any"


@pytest.mark.django_db
def test_no_scorecard_and_churned_accounts():
    f = FeatureFactory()
    churned = AccountFactory(churned_on=D)
    later = AccountFactory(churned_on=D + dt.timedelta(days=1))
    usage(churned, f, D)
    recompute(as_of=D)
    rows = {h.account_id: h for h in HealthScore.objects.all()}
    assert (rows[churned.pk].score, rows[churned.pk].band) == (None, "churned")
    assert not TouchModelDay.objects.filter(account=churned).exists()
    assert (rows[later.pk].score, rows[later.pk].band) == (None, "unknown")  # no scorecard


RANDOM_METRICS = ["active_days_90d", "events_30d", "seat_utilization_30d", "nps_latest", "days_since_last_activity"]


def exact_score(values: dict, plan_measures) -> int | None:
    """SPEC §5.2 written out in Fractions alone: the weighted mean of the clamped measure scores
    over the measures with a value, rounded to the nearest integer, halves up."""
    valued = [
        (Fraction(w), Fraction(v), Fraction(r), Fraction(g))
        for m, w, r, g in plan_measures
        if (v := values.get(m)) is not None
    ]
    if not valued:
        return None
    total = sum(w for w, _, _, _ in valued)
    mean = sum(w * min(max((v - r) / (g - r), Fraction(0)), Fraction(1)) * 100 for w, v, r, g in valued) / total
    return math.floor(mean + Fraction(1, 2))


def random_scorecards(rng) -> tuple[dict, dict]:
    plans, measures = {}, {}
    for pk in (1, 2, 3):
        ms = []
        for metric in rng.sample(RANDOM_METRICS, rng.randint(1, 4)):
            red, green = rng.choice([(0, 10), (0, 30), (20, 70), (90, 5), (10, 0), (0, 200)])
            ms.append((metric, rng.choice(["1", "2", "3", "0.5", "1.5"]), red, green))
        measures[pk] = ms
        plans[(pk, None)] = scorecard_plan(
            id=pk, name=f"s{pk}", vertical_id=pk, use_case_id=None, healthy_at=70, at_risk_below=40, measures=ms
        )
    return plans, measures


def random_values(rng) -> dict:
    values = {}
    for metric in RANDOM_METRICS:
        if rng.random() < 0.1:
            values[metric] = None
        elif metric == "seat_utilization_30d":
            values[metric] = Fraction(100 * rng.randint(0, 12), rng.choice([4, 8, 10, 12]))
        else:
            values[metric] = rng.randint(0, 12) * rng.choice([1, 5, 10])
    return values


def test_the_scorer_and_its_cache_score_exactly_as_the_spec_says():
    """Random scorecards and accounts (40 seeds × 600 accounts), many sharing values (the cache's
    hits) and many landing on exact halves: every account's score equals the Fractions-only §5.2
    score, and the whole result equals score_account's for that account alone."""
    halves = 0
    for seed in range(40):
        rng = random.Random(seed)
        plans, measures = random_scorecards(rng)
        scorer = Scorer(plans)
        scorer.CACHE_SIZE = 50  # small: the cache also starts over during the test
        for _ in range(600):
            vertical, values = rng.choice([1, 2, 3]), random_values(rng)
            got = scorer.score(values, vertical, None)
            alone = score_account(values, plans[(vertical, None)])
            assert got == (alone.score, alone.band, alone.scorecard_id, alone.measures)
            assert got[0] == exact_score(values, measures[vertical]), (seed, values, measures[vertical])
            halves += exact_mean_is_a_half(values, measures[vertical])
        assert len(scorer._results) <= 50
    assert halves > 100  # exact halves (rounded up) were exercised


def exact_mean_is_a_half(values: dict, plan_measures) -> bool:
    valued = [
        (Fraction(w), Fraction(v), Fraction(r), Fraction(g))
        for m, w, r, g in plan_measures
        if (v := values.get(m)) is not None
    ]
    if not valued:
        return False
    total = sum(w for w, *_ in valued)
    mean = sum(w * min(max((v - r) / (g - r), 0), 1) * 100 for w, v, r, g in valued) / total
    return mean.denominator == 2


def test_the_scorer_caches_by_the_scorecards_metrics_only():
    """Two accounts alike in the scorecard's metrics but not in others share one result object;
    a different value of a scored metric does not."""
    plans = {(None, None): plan(("active_days_90d", 1, 0, 30), ("nps_latest", 1, 0, 10))}
    scorer = Scorer(plans)
    a = scorer.score({"active_days_90d": 15, "nps_latest": 5, "events_30d": 1}, 1, None)
    b = scorer.score({"active_days_90d": 15, "nps_latest": 5, "events_30d": 999}, 2, None)
    c = scorer.score({"active_days_90d": 16, "nps_latest": 5, "events_30d": 1}, 1, None)
    assert a is b and a[0] == 50
    assert c[0] == round_half_up(Fraction(16 * 100, 30) / 2 + 25) == 52
