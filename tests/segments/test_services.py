"""Segment rules (SPEC §6) as of a date: each field kind × op, nulls, not, sets; membership history."""

import datetime as dt

import pytest

from accounts.models import AccountUseCase, Tier
from health.models import HealthScore
from pipeline.services import recompute
from segments.models import Segment, SegmentMembership, TouchModelDay
from segments.rules import RuleError
from segments.services import segment_members, segments_recompute
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    HealthScoreFactory,
    SegmentFactory,
    UseCaseFactory,
    UserFactory,
    VerticalFactory,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


@pytest.fixture
def cast():
    """Three accounts as of D with known values; `none` lacks most values."""
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    pta, board = UseCaseFactory(name="PTA meetings"), UseCaseFactory(name="Board meetings")
    tier1 = Tier.objects.create(name="Tier 1", min_arr=100000)
    owner = UserFactory(username="jo", email="Jo@Example.com")
    big = AccountFactory(
        name="big",
        vertical=tech,
        primary_use_case=board,
        arr=150000,
        seats=100,
        employees=500,
        persona="executive",
        owner=owner,
        renewal_date=D + dt.timedelta(days=30),
    )
    small = AccountFactory(
        name="small",
        vertical=edu,
        primary_use_case=pta,
        arr=5000,
        seats=10,
        employees=40,
        persona="manager",
        renewal_date=D - dt.timedelta(days=5),
    )
    AccountUseCase.objects.create(account=small, use_case=board)
    none = AccountFactory(
        name="none",
        vertical=edu,
        primary_use_case=None,
        arr=0,
        seats=None,
        employees=None,
        persona="",
        renewal_date=None,
    )
    churned = AccountFactory(name="churned", vertical=edu, churned_on=D)
    AccountMetricsFactory(account=big, as_of=D, active_days_30d=20, seat_utilization_30d=75.5, nps_latest=9)
    AccountMetricsFactory(account=small, as_of=D, active_days_30d=2, seat_utilization_30d=None, nps_latest=None)
    HealthScoreFactory(account=big, as_of=D, score=82, band="healthy", tier=tier1)
    HealthScoreFactory(account=small, as_of=D, score=31, band="at_risk")
    HealthScoreFactory(account=churned, as_of=D, score=None, band="churned")
    return {"big": big, "small": small, "none": none, "churned": churned}


def match(cast, rule):
    ids = segment_members(Segment(name="t", rule=rule), D)
    names = {a.pk: n for n, a in cast.items()}
    return {names[i] for i in ids}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"field": "vertical", "op": "eq", "value": "education"}, {"small", "none"}),
        ({"field": "vertical", "op": "ne", "value": "EDUCATION"}, {"big"}),
        ({"field": "vertical", "op": "in", "value": ["tech sales", "Retail"]}, {"big"}),
        ({"field": "vertical", "op": "not_in", "value": ["Tech Sales"]}, {"small", "none"}),
        ({"field": "primary_use_case", "op": "eq", "value": "pta MEETINGS"}, {"small"}),
        ({"field": "primary_use_case", "op": "ne", "value": "PTA meetings"}, {"big"}),  # none has no value
        ({"field": "primary_use_case", "op": "is_null"}, {"none"}),
        ({"field": "primary_use_case", "op": "not_null"}, {"big", "small"}),
        ({"field": "arr", "op": "gt", "value": 5000}, {"big"}),
        ({"field": "arr", "op": "gte", "value": 5000}, {"big", "small"}),
        ({"field": "arr", "op": "lt", "value": 5000}, {"none"}),
        ({"field": "arr", "op": "between", "value": [0, 5000]}, {"small", "none"}),
        ({"field": "seats", "op": "lte", "value": 10}, {"small"}),
        ({"field": "seats", "op": "ne", "value": 10}, {"big"}),
        ({"field": "seats", "op": "not_in", "value": [10]}, {"big"}),
        ({"field": "seats", "op": "is_null"}, {"none"}),
        ({"field": "employees", "op": "in", "value": [40, 41]}, {"small"}),
        ({"field": "persona", "op": "eq", "value": "Executive"}, {"big"}),
        ({"field": "persona", "op": "ne", "value": "executive"}, {"small"}),
        ({"field": "persona", "op": "is_null"}, {"none"}),
        ({"field": "owner", "op": "eq", "value": "jo@example.com"}, {"big"}),
        ({"field": "owner", "op": "is_null"}, {"small", "none"}),
        ({"field": "tier", "op": "eq", "value": "tier 1"}, {"big"}),
        ({"field": "tier", "op": "ne", "value": "Tier 1"}, set()),
        ({"field": "tier", "op": "is_null"}, {"small", "none"}),
        ({"field": "health_score", "op": "lt", "value": 50}, {"small"}),
        ({"field": "health_score", "op": "is_null"}, {"none"}),
        ({"field": "health_band", "op": "eq", "value": "unknown"}, {"none"}),
        ({"field": "health_band", "op": "in", "value": ["AT_RISK", "unknown"]}, {"small", "none"}),
        ({"field": "health_band", "op": "ne", "value": "healthy"}, {"small", "none"}),
        ({"field": "health_band", "op": "not_null"}, {"big", "small", "none"}),
        ({"field": "health_band", "op": "is_null"}, set()),
        ({"field": "days_to_renewal", "op": "lte", "value": 30}, {"big", "small"}),
        ({"field": "days_to_renewal", "op": "lt", "value": 0}, {"small"}),
        ({"field": "days_to_renewal", "op": "eq", "value": -5}, {"small"}),
        ({"field": "days_to_renewal", "op": "between", "value": [29.5, 30]}, {"big"}),
        ({"field": "days_to_renewal", "op": "gt", "value": 29.9}, {"big"}),
        ({"field": "days_to_renewal", "op": "ne", "value": 30}, {"small"}),
        ({"field": "days_to_renewal", "op": "is_null"}, {"none"}),
        ({"field": "active_days_30d", "op": "gte", "value": 2}, {"big", "small"}),
        ({"field": "active_days_30d", "op": "ne", "value": 2}, {"big"}),
        ({"field": "active_days_30d", "op": "is_null"}, {"none"}),
        ({"field": "seat_utilization_30d", "op": "gt", "value": 75.4}, {"big"}),
        ({"field": "seat_utilization_30d", "op": "lt", "value": 100}, {"big"}),  # small has none
        ({"field": "nps_latest", "op": "not_null"}, {"big"}),
        ({"field": "journey_stage", "op": "is_null"}, {"big", "small", "none"}),
        ({"field": "journey_stage", "op": "eq", "value": "Anything"}, set()),
        ({"field": "use_case", "op": "eq", "value": "board meetings"}, {"big", "small"}),
        ({"field": "use_case", "op": "in", "value": ["PTA meetings", "Nope"]}, {"small"}),
        ({"field": "use_case", "op": "ne", "value": "PTA meetings"}, {"big"}),  # none runs no use case
        ({"field": "use_case", "op": "not_in", "value": ["Board meetings"]}, set()),
        ({"field": "use_case", "op": "is_null"}, {"none"}),
        ({"field": "use_case", "op": "not_null"}, {"big", "small"}),
    ],
)
def test_each_field_and_op(cast, rule, expected):
    assert match(cast, rule) == expected


@pytest.mark.parametrize(
    "rule",
    [
        {"field": "seats", "op": "ne", "value": 10},
        {"field": "primary_use_case", "op": "eq", "value": "PTA meetings"},
        {"field": "health_score", "op": "gt", "value": 50},
        {"field": "days_to_renewal", "op": "lt", "value": 10},
        {"field": "use_case", "op": "ne", "value": "PTA meetings"},
        {"field": "health_band", "op": "eq", "value": "unknown"},
        {"all": [{"field": "arr", "op": "gt", "value": 1}, {"field": "seats", "op": "is_null"}]},
    ],
)
def test_not_is_exactly_the_complement(cast, rule):
    everyone = {"big", "small", "none"}  # churned accounts are in no segment, negated or not
    assert match(cast, {"not": rule}) == everyone - match(cast, rule)


def test_nesting_all_any_not(cast):
    rule = {
        "any": [
            {
                "all": [
                    {"field": "vertical", "op": "eq", "value": "Education"},
                    {"not": {"field": "seats", "op": "is_null"}},
                ]
            },
            {"field": "health_band", "op": "eq", "value": "healthy"},
        ]
    }
    assert match(cast, rule) == {"small", "big"}


def test_invalid_rule_is_rejected_naming_the_condition(cast):
    with pytest.raises(RuleError) as exc:
        match(cast, {"all": [{"field": "arr", "op": "gt", "value": "lots"}]})
    assert exc.value.errors == ["rule.all[0].value: expected a number, got 'lots' for field 'arr'"]


def test_membership_history_and_touch_models(cast):
    SegmentFactory(name="Big", rule={"field": "arr", "op": "gte", "value": 100000}, touch_model="high", priority=5)
    SegmentFactory(name="Any", rule={"field": "arr", "op": "gte", "value": 0}, touch_model="mid", priority=5)
    SegmentFactory(
        name="Low", rule={"field": "arr", "op": "lt", "value": 100000}, touch_model="self_service", priority=1
    )
    HealthScoreFactory(account=cast["none"], as_of=D, band="unknown")
    segments_recompute(as_of=D)
    models = dict(TouchModelDay.objects.filter(day=D).values_list("account_id", "touch_model"))
    touch = {
        h.account.name: models.get(h.account_id, "")
        for h in HealthScore.objects.filter(as_of=D).select_related("account")
    }
    # big matches Big and Any (same priority): 'Any' comes first alphabetically.
    assert touch == {"big": "mid", "small": "mid", "none": "mid", "churned": ""}
    stays = set(SegmentMembership.objects.values_list("segment__name", "account__name", "entered_on", "left_on"))
    assert ("Big", "big", D, None) in stays and ("Low", "small", D, None) in stays
    assert not any(name == "churned" for _, name, _, _ in stays)

    # The next day big drops below 100k: its stay in Big closes, one in Low opens; others untouched.
    big = cast["big"]
    big.arr = 50000
    big.save()
    next_day = D + dt.timedelta(days=1)
    for a in ("big", "small", "none"):
        HealthScoreFactory(account=cast[a], as_of=next_day, band="unknown")
    result = segments_recompute(as_of=next_day)
    assert result["entered"] == 1 and result["left"] == 1
    assert SegmentMembership.objects.get(segment__name="Big", account=big).left_on == next_day
    assert SegmentMembership.objects.get(segment__name="Low", account=big).entered_on == next_day
    before = set(SegmentMembership.objects.values_list("segment_id", "account_id", "entered_on", "left_on"))
    segments_recompute(as_of=next_day)  # idempotent
    assert set(SegmentMembership.objects.values_list("segment_id", "account_id", "entered_on", "left_on")) == before


def test_inactive_segment_closes_its_memberships(cast):
    seg = SegmentFactory(name="All", rule={"field": "arr", "op": "gte", "value": 0})
    segments_recompute(as_of=D)
    seg.active = False
    seg.save()
    segments_recompute(as_of=D + dt.timedelta(days=1))
    assert not SegmentMembership.objects.filter(segment=seg, left_on__isnull=True).exists()


def test_recompute_then_segment_by_band(cast):
    # Through the whole engine: no scorecard → every account's band is unknown.
    SegmentFactory(name="Unknown", rule={"field": "health_band", "op": "eq", "value": "unknown"})
    recompute(as_of=D)
    assert set(SegmentMembership.objects.values_list("account__name", flat=True)) == {"big", "small", "none"}


def test_rules_copied_in_batches_give_every_segment_its_members(cast, monkeypatch):
    """The rules' members are copied a batch of RULES_PER_STATEMENT rules per statement (SQLite caps a
    compound SELECT at 500 parts): with batches of 2, seven segments still get exactly their members
    and the first by priority still claims the touch model."""
    monkeypatch.setattr("segments.services.RULES_PER_STATEMENT", 2)
    thresholds = [0, 10000, 50000, 100000, 120000, 150000, 200000]
    for i, value in enumerate(thresholds):
        SegmentFactory(
            name=f"ARR {value:06d}", rule={"field": "arr", "op": "gte", "value": value}, touch_model="mid", priority=i
        )
    both = [{"field": "arr", "op": "lt", "value": 140000}, {"field": "seats", "op": "gte", "value": 1}]
    SegmentFactory(name="Two conditions", rule={"all": both}, priority=3)  # more parameters than the others
    segments_recompute(as_of=D)
    for segment in Segment.objects.all():
        stays = set(SegmentMembership.objects.filter(segment=segment).values_list("account_id", flat=True))
        assert stays == segment_members(segment, D), segment.name
    assert SegmentMembership.objects.filter(segment__name="ARR 100000").exists()  # big's ARR is 150,000
    assert TouchModelDay.objects.filter(day=D).count() == 3  # big, small, none (not churned)
