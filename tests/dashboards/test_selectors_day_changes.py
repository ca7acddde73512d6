"""A run's page says what its day changed (issue #14 point 8): entered/left per segment and band
moves against the previous published day, read from the membership history and the health results
in a fixed number of queries."""

import datetime as dt

import pytest
from django.urls import reverse

from dashboards.selectors import day_changes
from health.models import PublishedDay
from pipeline.models import RecomputeRun
from tests.factories import AccountFactory, HealthScoreFactory, SegmentFactory, SegmentMembershipFactory

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)
P = D - dt.timedelta(days=3)  # the published day before D (the two days between were not published)


def stay(segment, account, entered, left=None):
    return SegmentMembershipFactory(segment=segment, account=account, entered_on=entered, left_on=left)


@pytest.fixture
def two_days():
    watch, big = SegmentFactory(name="Watch list"), SegmentFactory(name="Big accounts")
    SegmentFactory(name="Retired", active=False)  # no moves, inactive: not listed
    kept, new_in, gone, steady, newcomer = (AccountFactory(name=n) for n in ("Kept", "In", "Gone", "Steady", "New"))
    stay(watch, kept, D - dt.timedelta(days=40))  # member on both days
    stay(watch, new_in, D - dt.timedelta(days=1))  # entered after P
    stay(watch, gone, D - dt.timedelta(days=90), left=D)  # a member on P, not on D: left
    stay(big, steady, D - dt.timedelta(days=30), left=P)  # left on P itself: not a member on P, not a move of D
    stay(big, newcomer, D)
    for account, before, after in (
        (kept, "at_risk", "healthy"),
        (new_in, "at_risk", "healthy"),
        (gone, "healthy", "neutral"),
        (steady, "healthy", "healthy"),
    ):
        HealthScoreFactory(account=account, as_of=P, band=before)
        HealthScoreFactory(account=account, as_of=D, band=after)
    HealthScoreFactory(account=newcomer, as_of=D, band="healthy")  # no result on P
    HealthScoreFactory(account=kept, as_of=D - dt.timedelta(days=1), band="churned")  # not published: ignored
    PublishedDay.objects.filter(day=D - dt.timedelta(days=1)).delete()
    return watch, big


def test_entered_left_and_band_moves_against_the_previous_published_day(two_days, django_assert_num_queries):
    with django_assert_num_queries(3):
        changes = day_changes(D)
    assert changes.previous == P
    assert [(s.name, s.entered, s.left, s.members) for s in changes.segments] == [
        ("Big accounts", 1, 0, 1),
        ("Watch list", 1, 1, 2),
    ]
    assert [(m.words, m.accounts) for m in changes.bands] == [
        ("At risk → Healthy", 2),
        ("Healthy → Neutral", 1),
        ("New account → Healthy", 1),
    ]


def test_the_query_count_does_not_grow_with_accounts_or_segments(two_days, django_assert_num_queries):
    watch, _ = two_days
    for _ in range(30):
        account = AccountFactory()
        stay(SegmentFactory(), account, D)
        stay(watch, account, P - dt.timedelta(days=5), left=D)
        HealthScoreFactory(account=account, as_of=P, band="neutral")
        HealthScoreFactory(account=account, as_of=D, band="at_risk")
    with django_assert_num_queries(3):
        changes = day_changes(D)
    assert {m.words: m.accounts for m in changes.bands}["Neutral → At risk"] == 30
    assert next(s for s in changes.segments if s.name == "Watch list").left == 31


def test_the_first_published_day_says_there_is_nothing_to_compare_with(db):
    account, segment = AccountFactory(), SegmentFactory(name="Everyone")
    stay(segment, account, D)
    HealthScoreFactory(account=account, as_of=D, band="healthy")
    changes = day_changes(D)
    assert changes.previous is None and changes.bands == []
    assert [(s.name, s.entered, s.left, s.members) for s in changes.segments] == [("Everyone", 0, 0, 1)]


def run_of(day, status="succeeded"):
    return RecomputeRun.objects.create(as_of=day, status=status, active_lock=None, trigger="admin")


def test_the_run_pages_show_what_changed(two_days, client_for, cs_admin):
    run = run_of(D)
    client = client_for(cs_admin)
    for url in (
        reverse("admin:pipeline_recomputerun_change", args=[run.pk]),
        reverse("admin:pipeline_recomputerun_progress", args=[run.pk]),
        reverse("admin:pipeline_recomputerun_status", args=[run.pk]),
    ):
        page = " ".join(client.get(url).content.decode().split())
        assert "What changed on 2026-06-30" in page and "Compared with 2026-06-27, the published day before" in page
        assert "<li>At risk → Healthy: <strong>2</strong></li>" in page
        assert (
            '<td><a href="/segments/watch-list/">Watch list</a></td><td class="num">+1</td><td class="num">−1</td>'
            in page
        )
        assert "Retired" not in page


@pytest.mark.parametrize("status", ["failed", "running", "queued"])
def test_a_run_that_published_nothing_shows_no_changes(two_days, client_for, cs_admin, status):
    run = run_of(D, status)
    page = client_for(cs_admin).get(reverse("admin:pipeline_recomputerun_change", args=[run.pk])).content.decode()
    assert "What changed on" not in page and "once it has succeeded" in page


@pytest.mark.parametrize("who", ["csm", "leader"])
def test_run_pages_are_for_admins(request, client_for, two_days, who):
    run = run_of(D)
    response = client_for(request.getfixturevalue(who)).get(
        reverse("admin:pipeline_recomputerun_change", args=[run.pk])
    )
    assert response.status_code in (302, 403) and "What changed" not in response.content.decode()
