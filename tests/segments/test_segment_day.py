"""Rollups written with the day's results for the journey funnels (VerticalDay.journey_stages) and
the segment list (SegmentDay): what the counts give, idempotent, read by the pages, backfilled."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboards.journeys import journey_funnels
from dashboards.models import VerticalDay
from dashboards.services import vertical_days_rollup
from segments.models import Segment, SegmentDay
from segments.selectors import SegmentFigures, segment_figures, segment_stats
from segments.services import segment_days_write
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    HealthScoreFactory,
    JourneyFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    StageFactory,
    UseCaseFactory,
    VerticalFactory,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


@pytest.fixture
def journeys():
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    pta, pipeline = UseCaseFactory(name="PTA meetings"), UseCaseFactory(name="Pipeline reviews")
    edu_journey = JourneyFactory(vertical=edu, use_case=pta)
    s1, s2, s3 = (StageFactory(journey=edu_journey, name=n, position=i) for i, n in enumerate("ABC"))
    tech_journey = JourneyFactory(vertical=tech, use_case=pipeline)
    t1 = StageFactory(journey=tech_journey, name="Pipeline set up", position=0)
    cast = [  # vertical, primary use case, stage, churned
        (edu, pta, s1, False),
        (edu, pta, s2, False),
        (edu, pta, s2, False),
        (edu, pta, s3, False),
        (edu, pta, None, False),
        (edu, pta, s3, True),
        (edu, pipeline, None, False),
        (tech, pipeline, t1, False),
        (tech, pipeline, None, False),
    ]
    for vertical, use_case, stage, churned in cast:
        account = AccountFactory(vertical=vertical, primary_use_case=use_case, churned_on=D if churned else None)
        HealthScoreFactory(
            account=account, as_of=D, score=None if churned else 50, band="churned" if churned else "neutral"
        )
        AccountMetricsFactory(account=account, as_of=D, journey_stage=stage)
        # The day before, everyone was in the last stage: nothing of it may leak into D's funnels.
        AccountMetricsFactory(account=account, as_of=D - dt.timedelta(days=1), journey_stage=stage and s3)
    return edu, tech


def test_funnels_are_read_from_the_rollup(journeys, django_assert_num_queries):
    edu, _ = journeys
    vertical_days_rollup(start=D)
    row = VerticalDay.objects.get(vertical=edu, day=D)
    assert sum(row.journey_stages[str(edu.journeys.get().use_case_id)].values()) == 5
    with django_assert_num_queries(3):  # journeys, stages, the day's rollup rows
        funnels = journey_funnels(D)
    [edu_funnel] = journey_funnels(D, vertical=edu)
    assert [(s["stage"], s["accounts"]) for s in edu_funnel["stages"]] == [("A", 4), ("B", 3), ("C", 1)]
    assert edu_funnel["accounts"] == 5  # the churned account is left out, the stage-less one counts
    assert [f for f in funnels if f["vertical"] == "Education"] == [edu_funnel]
    tech_funnel = next(f for f in funnels if f["vertical"] == "Tech Sales")
    assert (tech_funnel["accounts"], tech_funnel["stages"][0]["accounts"]) == (2, 1)
    # It is the rollup that is read: emptied, the funnels count nobody.
    VerticalDay.objects.filter(day=D).update(journey_stages={})
    assert all(f["accounts"] == 0 for f in journey_funnels(D))


def test_journey_stages_rollup_is_idempotent(journeys):
    vertical_days_rollup(start=D)
    first = dict(VerticalDay.objects.filter(day=D).values_list("vertical_id", "journey_stages"))
    vertical_days_rollup(start=D)
    assert dict(VerticalDay.objects.filter(day=D).values_list("vertical_id", "journey_stages")) == first
    assert VerticalDay.objects.filter(day=D).count() == 2


@pytest.fixture
def segments():
    big = SegmentFactory(name="Big", rule={"field": "arr", "op": "gte", "value": 100})
    SegmentFactory(name="Empty", rule={"field": "arr", "op": "lt", "value": 0})
    stays = [
        (D - dt.timedelta(days=30), None, 1000),
        (D, None, 2000),
        (D - dt.timedelta(days=30), D, 4000),
        (D + dt.timedelta(days=1), None, 8000),
    ]
    for entered, left, arr in stays:
        SegmentMembershipFactory(segment=big, account=AccountFactory(arr=arr), entered_on=entered, left_on=left)
    HealthScoreFactory(account=AccountFactory(), as_of=D, band="unknown")  # results on D
    return big


def test_segment_days_are_what_segment_figures_counts_and_idempotent(segments, django_assert_num_queries):
    empty = Segment.objects.get(name="Empty")
    computed = segment_figures(D)
    assert computed == {segments.pk: SegmentFigures(2, Decimal("3000.00")), empty.pk: SegmentFigures(0, Decimal(0))}
    assert segment_days_write(day=D) == 2
    assert segment_days_write(day=D) == 2  # replaced, not duplicated
    assert SegmentDay.objects.filter(day=D).count() == 2
    with django_assert_num_queries(1):
        stored = segment_stats(D)
    assert stored == {pk: f._asdict() for pk, f in computed.items()}  # left on D: not a member
    SegmentDay.objects.filter(day=D, segment=segments).update(members=99)  # the rows are what is read
    assert segment_stats(D)[segments.pk]["members"] == 99
    assert segment_stats(D - dt.timedelta(days=1)) == {}  # no rows: nothing counted live


def test_segment_list_shows_the_stored_figures(client_for, csm, segments):
    segment_days_write(day=D)
    SegmentDay.objects.filter(day=D, segment=segments).update(members=4321)
    assert "4,321" in client_for(csm).get("/segments/").content.decode()


def test_segment_pages_without_the_days_rollup_say_so(client_for, csm, segments):
    client = client_for(csm)
    body = client.get("/segments/").content.decode()
    assert "rollups_backfill --day 2026-06-30" in body
    detail = client.get(f"/segments/{segments.slug}/").content.decode()
    assert '<dd id="member-arr">— (not rolled up' in detail and "$3,000" not in detail  # nothing computed live


def test_rollups_backfill_writes_segment_days(segments):
    out = StringIO()
    call_command("rollups_backfill", stdout=out)
    assert "segment figures for 1" in out.getvalue()
    assert SegmentDay.objects.filter(day=D).count() == 2
    call_command("rollups_backfill", stdout=out)
    assert "segment figures for 0" in out.getvalue() and SegmentDay.objects.count() == 2
    HealthScoreFactory(account=AccountFactory(), as_of=dt.date(2026, 6, 1), band="unknown")
    call_command("rollups_backfill", "--day", "2026-06-01", stdout=out)
    assert SegmentDay.objects.get(day=dt.date(2026, 6, 1), segment=segments).members == 2
    with pytest.raises(CommandError, match="--day: 'x' is not a date"):
        call_command("rollups_backfill", "--day", "x")


def test_segment_page_reads_the_stored_figures(client_for, csm, segments):
    client = client_for(csm)
    segment_days_write(day=D)
    stored = client.get(f"/segments/{segments.slug}/").content.decode()
    assert '<dd id="member-count">2</dd>' in stored and '<dd id="member-arr">$3,000</dd>' in stored
    SegmentDay.objects.filter(day=D, segment=segments).update(members=2, arr=Decimal("4321"))
    assert '<dd id="member-arr">$4,321</dd>' in client.get(f"/segments/{segments.slug}/").content.decode()
