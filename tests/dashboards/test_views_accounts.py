"""The account page: header, trend, why it changed, journey, segments, say vs do, suggestions,
heatmap, NPS; recording stated drivers by role; a query count independent of the history."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AccountUseCase, StatedDriver
from health.models import Scorecard
from segments.models import TouchModelDay
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    FeatureFactory,
    HealthScoreFactory,
    JourneyFactory,
    NpsResponseFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    StageFactory,
    StatedDriverFactory,
    UseCaseFactory,
    VerticalFactory,
    usage,
    write_rollups,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def measures(active_days, active_score, days_since=3, since_score=100):
    return [
        {
            "metric": "active_days_90d",
            "value": active_days,
            "score": active_score,
            "weight": 1,
            "points_lost": 50 - active_score / 2,
            "lift_value": None,
        },
        {
            "metric": "days_since_last_activity",
            "value": days_since,
            "score": since_score,
            "weight": 1,
            "points_lost": 50 - since_score / 2,
            "lift_value": None,
        },
    ]


@pytest.fixture
def account():
    scorecard = Scorecard.objects.create(name="Education", healthy_at=70, at_risk_below=40)
    a = AccountFactory(
        name="Lincoln High", vertical=VerticalFactory(name="Education"), renewal_date=D + dt.timedelta(days=40)
    )
    HealthScoreFactory(account=a, as_of=D, score=60, band="neutral", scorecard=scorecard, measures=measures(6, 20))
    TouchModelDay.objects.create(account=a, day=D, touch_model="mid")
    HealthScoreFactory(
        account=a,
        as_of=D - dt.timedelta(days=7),
        score=90,
        band="healthy",
        scorecard=scorecard,
        measures=measures(14, 80),
    )
    return a


def url(a):
    return reverse("accounts:detail", args=[a.pk])


def test_anonymous_goes_to_login(client, account):
    assert client.get(url(account))["Location"].startswith("/login/")
    response = client.post(reverse("accounts:record-driver", args=[account.pk]), {})
    assert response["Location"].startswith("/login/")
    assert not StatedDriver.objects.exists()


@pytest.mark.parametrize(("who", "form_shown"), [("csm", True), ("leader", False), ("cs_admin", True)])
def test_roles_see_the_page(request, client_for, account, who, form_shown):
    response = client_for(request.getfixturevalue(who)).get(url(account))
    assert response.status_code == 200
    assert ('id="driver-form"' in response.content.decode()) is form_shown


def test_header_trend_and_why_it_changed(client_for, csm, account):
    body = client_for(csm).get(url(account)).content.decode()
    assert 'id="renewal">2026-08-09 · in 40 days' in body.replace("Aug. 9, 2026", "2026-08-09")
    assert "Mid-touch" in body
    assert 'id="trend-chart"' in body and "healthy at 70" in body and "at risk below 40" in body
    why = body[body.index('id="why"') : body.index('id="journey"')]
    # 40 points earned (80 × ½) 7 days ago, 10 now: −30.
    assert "Since 7 days ago" in why and "90 → 60 (−30)" in why
    assert "−30: active days (90d) fell from 14 to 6" in why
    assert "days since last activity" not in why  # did not move
    assert "No result on 2026-05-31" in why  # 30 days before: not scored


def test_why_it_changed_says_when_the_scorecard_changed(client_for, csm, account):
    other = Scorecard.objects.create(name="Everyone")
    HealthScoreFactory(
        account=account,
        as_of=D - dt.timedelta(days=30),
        score=70,
        band="healthy",
        scorecard=other,
        measures=measures(10, 60),
    )
    body = client_for(csm).get(url(account)).content.decode()
    why = body[body.index('id="why"') : body.index('id="journey"')]
    assert "Scored with “Everyone” 30 days ago and with “Education” now" in why
    assert "active days (90d) fell from 10 to 6" in why


def test_journey_segments_nps_heatmap_and_suggestions(client_for, csm, account):
    pta = account.primary_use_case
    journey = JourneyFactory(vertical=account.vertical, use_case=pta)
    stages = [
        StageFactory(journey=journey, name=n, position=i) for i, n in enumerate(["Booked", "Reminders on", "Weekly"])
    ]
    AccountMetricsFactory(account=account, as_of=D, journey_stage=stages[1])
    seg = SegmentFactory(name="Education at risk", rule={})
    SegmentMembershipFactory(
        segment=seg, account=account, entered_on=D - dt.timedelta(days=90), left_on=D - dt.timedelta(days=20)
    )
    NpsResponseFactory(account=account, date=D - dt.timedelta(days=15), score=4, comment="too slow")
    usage(account, FeatureFactory(key="scheduling"), D - dt.timedelta(days=3), events=7)
    board = UseCaseFactory(name="Board meetings")
    for _ in range(5):
        peer = AccountFactory(vertical=account.vertical, primary_use_case=pta)
        AccountUseCase.objects.create(account=peer, use_case=board)
        HealthScoreFactory(account=peer, as_of=D, score=90, band="healthy")
    write_rollups()  # as publish does after the day's results
    body = client_for(csm).get(url(account)).content.decode()
    journey_html = body[body.index('id="journey"') : body.index('id="segments"')]
    assert "2 of 3 stages reached" in journey_html
    assert journey_html.count('class="reached') == 2 and 'class="reached current">Reminders on' in journey_html
    segments = body[body.index('id="segments"') : body.index('id="say-vs-do"')]
    assert "Education at risk" in segments and "now</span>" not in segments
    assert 'id="nps-chart"' in body and "too slow" in body
    assert 'id="heatmap-chart"' in body and "Scheduling" in body
    suggestions = body[body.index('id="cross-pollination"') : body.index('id="heatmap"')]
    assert "100% of healthy Education accounts also run Board meetings" in suggestions


def test_say_vs_do_flags_drivers_without_usage(client_for, csm, account):
    used, unused = FeatureFactory(key="reminders"), FeatureFactory(key="video_rooms")
    StatedDriverFactory(account=account, feature=used)
    StatedDriverFactory(account=account, feature=unused)
    usage(account, used, D - dt.timedelta(days=89), events=2)
    usage(account, unused, D - dt.timedelta(days=90), events=2)  # one day outside the window
    body = client_for(csm).get(url(account)).content.decode()
    say = body[body.index('id="say-vs-do"') : body.index('id="cross-pollination"')]
    assert say.count("says so, but no usage in 90 days") == 1
    assert say.index("Video Rooms") < say.index("says so, but no usage") < say.index("Reminders")


@pytest.mark.parametrize("who", ["csm", "cs_admin"])
def test_recording_a_stated_driver(request, client_for, account, who):
    feature = FeatureFactory(key="reminders")
    client = client_for(request.getfixturevalue(who))
    response = client.post(
        reverse("accounts:record-driver", args=[account.pk]),
        {"feature": feature.pk, "note": " Says reminders cut no-shows "},
    )
    assert response.status_code == 302 and response["Location"].endswith("#say-vs-do")
    driver = StatedDriver.objects.get()
    assert (driver.account, driver.feature, driver.note) == (account, feature, "Says reminders cut no-shows")
    assert driver.recorded_by == request.getfixturevalue(who)
    assert "Recorded “Reminders” as a stated driver." in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"note": "no feature"}, "feature: This field is required."),
        ({"feature": "999999"}, "feature: Select a valid choice."),
        ({"feature": "abc"}, "feature: Select a valid choice."),
        ({"feature": "FEATURE", "note": "x" * 2001}, "note: Ensure this value has at most 2000 characters"),
    ],
)
def test_invalid_driver_is_refused_with_a_message(client_for, csm, account, data, message):
    feature = FeatureFactory()
    data = {k: (str(feature.pk) if v == "FEATURE" else v) for k, v in data.items()}
    response = client_for(csm).post(reverse("accounts:record-driver", args=[account.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not StatedDriver.objects.exists()


def test_leader_cannot_record_a_driver(client_for, leader, account):
    response = client_for(leader).post(
        reverse("accounts:record-driver", args=[account.pk]), {"feature": FeatureFactory().pk}
    )
    assert response.status_code == 403
    assert not StatedDriver.objects.exists()


def test_driver_for_a_missing_account_is_404_and_get_is_405(client_for, csm):
    client = client_for(csm)
    assert (
        client.post(reverse("accounts:record-driver", args=[999999]), {"feature": FeatureFactory().pk}).status_code
        == 404
    )
    assert client.get(reverse("accounts:record-driver", args=[999999])).status_code == 405


def add_history(account, days, start):
    scorecard = Scorecard.objects.get(name="Education")
    feature = FeatureFactory(key=f"f{start}")
    for i in range(start, start + days):
        day = D - dt.timedelta(days=i)
        HealthScoreFactory(
            account=account, as_of=day, score=50, band="neutral", scorecard=scorecard, measures=measures(8, 40)
        )
        usage(account, feature, day, events=i)
        if i % 10 == 0:
            NpsResponseFactory(account=account, date=day, score=i % 11)
    seg = SegmentFactory(name=f"Segment {start}", rule={})
    SegmentMembershipFactory(segment=seg, account=account, entered_on=D - dt.timedelta(days=start))
    StatedDriverFactory(account=account, feature=feature)


def test_query_count_does_not_grow_with_history(client_for, csm, account, django_assert_num_queries):
    add_history(account, 20, start=8)
    for _ in range(5):  # healthy peers running Clubs: one suggestion in both renders
        peer = AccountFactory(vertical=account.vertical, primary_use_case=UseCaseFactory(name="Clubs"))
        HealthScoreFactory(account=peer, as_of=D, score=90, band="healthy")
    write_rollups()
    client = client_for(csm)
    client.get(url(account))
    with CaptureQueriesContext(connection) as short:
        client.get(url(account))
    add_history(account, 200, start=31)
    for _ in range(5):
        peer = AccountFactory(vertical=account.vertical, primary_use_case=UseCaseFactory(name="Clubs"))
        HealthScoreFactory(account=peer, as_of=D, score=90, band="healthy")
    write_rollups()
    with django_assert_num_queries(len(short)):
        client.get(url(account))
    # Login and permissions (5), then about one query per section of the page (18: cross-pollination
    # looks up the day's VerticalDay row first, and counts healthy peers live without one), plus
    # plays (6): open tasks, team members, the timeline's notes, segment stays, bands, task events,
    # and the latest usage date (freshness: "scored … from usage up to …").
    assert len(short) == 33
