"""Segment pages: members over time (weekly members, entered, left), member ARR, roles, query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments.models import Segment
from segments.selectors import membership_over_time
from tests.factories import AccountFactory, HealthScoreFactory, SegmentFactory, SegmentMembershipFactory, write_rollups

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def days_ago(n):
    return D - dt.timedelta(days=n)


@pytest.fixture
def segment():
    seg = SegmentFactory(name="Strategic", rule={"field": "arr", "op": "gte", "value": 100})
    other = SegmentFactory(name="Other", rule={"field": "arr", "op": "lt", "value": 100})
    stays = [  # entered, left, ARR
        (days_ago(400), None, 1000),  # a member all year
        (days_ago(10), None, 2000),  # entered in the week ending D-7
        (days_ago(400), days_ago(20), 4000),  # left in the week ending D-14
        (days_ago(100), days_ago(90), 8000),  # came and went
    ]
    for entered, left, arr in stays:
        SegmentMembershipFactory(segment=seg, account=AccountFactory(arr=arr), entered_on=entered, left_on=left)
    SegmentMembershipFactory(segment=other, account=AccountFactory(arr=1), entered_on=days_ago(3))
    HealthScoreFactory(account=AccountFactory(), as_of=D, band="unknown")  # the pages' date is D
    write_rollups()  # as publish does after the day's results
    return seg


def test_weekly_members_entered_and_left(segment):
    timeline = membership_over_time(D, segment=segment)
    weeks, s = timeline["weeks"], timeline["segments"][segment.pk]
    assert len(weeks) == 53 and weeks[0] == days_ago(364) and weeks[-1] == D
    members = dict(zip(weeks, s["members"], strict=True))
    assert members[weeks[0]] == 2
    assert [members[days_ago(n)] for n in (21, 14, 7, 0)] == [2, 1, 2, 2]
    assert members[days_ago(91)] == 3 and members[days_ago(84)] == 2  # the stay of 10 days
    assert sum(s["entered"]) == 2 and sum(s["left"]) == 2
    assert s["entered"][weeks.index(days_ago(7))] == 1 and s["left"][weeks.index(days_ago(14))] == 1
    assert set(timeline["segments"]) == {segment.pk}  # only the asked segment


def test_all_segments_at_once(segment):
    timeline = membership_over_time(D)
    other = Segment.objects.get(name="Other")
    assert timeline["segments"][other.pk]["members"][-1] == 1 and timeline["segments"][other.pk]["members"][0] == 0


def test_detail_page_shows_member_arr_and_the_flow(client_for, leader, segment):
    body = client_for(leader).get(f"/segments/{segment.slug}/").content.decode()
    assert 'id="member-count">2<' in body and 'id="member-arr">$3,000<' in body
    assert 'id="flow-chart"' in body and "Week ending" in body


def test_list_page_charts_members_over_time(client_for, csm, segment):
    body = client_for(csm).get("/segments/").content.decode()
    assert 'id="members-chart"' in body and "Members over the last 12 months" in body


def test_needs_login(client, segment):
    for path in ("/segments/", f"/segments/{segment.slug}/"):
        assert client.get(path)["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["csm", "leader", "cs_admin"])
def test_every_role(request, client_for, who, segment):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/segments/").status_code == 200
    assert client.get(f"/segments/{segment.slug}/").status_code == 200
    assert client.get("/segments/no-such-segment/").status_code == 404


@pytest.mark.parametrize("path", ["/segments/", "/segments/strategic/"])
def test_query_count_does_not_grow_with_accounts(client_for, leader, segment, path, django_assert_num_queries):
    client = client_for(leader)
    client.get(path)
    with CaptureQueriesContext(connection) as small:
        client.get(path)
    for n in range(12):
        SegmentMembershipFactory(
            segment=segment,
            account=AccountFactory(),
            entered_on=days_ago(5 * n),
            left_on=days_ago(n) if n % 2 else None,
        )
    with django_assert_num_queries(len(small)):
        client.get(path)
