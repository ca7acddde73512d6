"""Journeys (SPEC §7): stages reached in order, min events in 90 days, progress."""

import datetime as dt

import pytest

from health.models import AccountMetrics
from pipeline.services import recompute
from tests.factories import (
    AccountFactory,
    FeatureFactory,
    JourneyFactory,
    StageFactory,
    UseCaseFactory,
    VerticalFactory,
    usage,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


@pytest.fixture
def setup():
    edu, pta = VerticalFactory(name="Education"), UseCaseFactory(name="PTA meetings")
    sched, remind, video = (
        FeatureFactory(key="scheduling"),
        FeatureFactory(key="reminders"),
        FeatureFactory(key="video"),
    )
    journey = JourneyFactory(vertical=edu, use_case=pta)
    s1 = StageFactory(journey=journey, name="Booked", position=0, min_events_90d=1)
    s1.features.set([sched])
    s2 = StageFactory(journey=journey, name="Reminders", position=1, min_events_90d=5)
    s2.features.set([remind])
    s3 = StageFactory(journey=journey, name="Everything", position=2, min_events_90d=2)
    s3.features.set([sched, video])
    return edu, pta, sched, remind, video


def result(account):
    recompute(as_of=D)
    m = AccountMetrics.objects.select_related("journey_stage").get(account=account)
    return (m.journey_stage.name if m.journey_stage else None), m.journey_progress


def test_stages_reached_in_order(setup):
    edu, pta, sched, remind, video = setup
    a = AccountFactory(vertical=edu, primary_use_case=pta)
    usage(a, sched, D, events=3)
    usage(a, remind, D - dt.timedelta(days=89), events=5)
    usage(a, video, D, events=1)  # stage 3 needs 2 video events
    stage, progress = result(a)
    assert stage == "Reminders" and progress == pytest.approx(200 / 3)


def test_a_later_stage_does_not_count_without_the_earlier_ones(setup):
    edu, pta, sched, remind, video = setup
    a = AccountFactory(vertical=edu, primary_use_case=pta)
    usage(a, remind, D, events=9)  # stage 2 reached, stage 1 not
    assert result(a) == (None, 0)


def test_events_outside_90_days_do_not_count(setup):
    edu, pta, sched, remind, video = setup
    a = AccountFactory(vertical=edu, primary_use_case=pta)
    usage(a, sched, D - dt.timedelta(days=90), events=3)
    assert result(a) == (None, 0)


def test_all_stages_and_no_journey(setup):
    edu, pta, sched, remind, video = setup
    a = AccountFactory(vertical=edu, primary_use_case=pta)
    for f, n in ((sched, 2), (remind, 5), (video, 2)):
        usage(a, f, D, events=n)
    other = AccountFactory(vertical=edu, primary_use_case=UseCaseFactory(name="Board meetings"))
    assert result(a) == ("Everything", 100)
    assert result(other) == (None, None)
