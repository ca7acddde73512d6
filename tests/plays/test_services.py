"""Plays fire from a published day (SPEC §9): each trigger, condition, dedupe, cooldown, churned
and not-yet customers, idempotent re-runs, why in words, templates with missing values, and the
hook in the recompute's publish."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import StatedDriver
from configuration.services import config_apply
from health.models import HealthScore
from plays.models import PlayFiring, Task, TaskEvent
from plays.services import plays_fire
from plays.wording import render_template
from segments.models import Segment, SegmentMembership
from tests.factories import (
    AccountFactory,
    FeatureFactory,
    HealthScoreFactory,
    UserFactory,
    VerticalFactory,
    play_apply,
    usage,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)
WEEK = dt.timedelta(days=7)


def score(account, day, value, band=None, measures=None):
    band = band or ("healthy" if value >= 70 else "at_risk" if value < 40 else "neutral")
    return HealthScoreFactory(account=account, as_of=day, score=value, band=band, measures=measures or [])


def measures(active_days, events):
    return [
        {"metric": "active_days_90d", "value": active_days, "score": min(100, active_days * 5), "weight": 2},
        {"metric": "events_30d", "value": events, "score": min(100, events), "weight": 1},
    ]


@pytest.fixture
def csm_owner(db):
    return UserFactory(username="casey", email="casey@example.com", roles=["CSM"])


@pytest.fixture
def edu(db):
    return VerticalFactory(name="Education")


def test_segment_entered_opens_a_task_with_why(csm_owner, edu):
    segment = Segment.objects.create(
        name="Education at risk", rule={"field": "vertical", "op": "eq", "value": "Education"}
    )
    lincoln = AccountFactory(name="Lincoln High", vertical=edu, owner=csm_owner)
    other = AccountFactory(vertical=edu)
    score(lincoln, D - WEEK, 62, measures=measures(14, 80))
    score(lincoln, D, 35, measures=measures(6, 70))
    score(other, D, 50)
    SegmentMembership.objects.create(segment=segment, account=lincoln, entered_on=D)
    SegmentMembership.objects.create(
        segment=segment, account=other, entered_on=D - WEEK
    )  # entered earlier: no event today
    play = play_apply("Edu risk", {"type": "segment_entered", "segment": "Education at risk"})

    report = plays_fire(day=D, notify=False)

    assert report.fired == 1 and report.tasks_opened == 1
    task = Task.objects.get()
    assert (task.account, task.play, task.assignee, task.due_date, task.status) == (
        lincoln,
        play,
        csm_owner,
        D + dt.timedelta(days=3),
        "open",
    )
    assert task.title == "Call Lincoln High: entered segment 'Education at risk'"
    assert (
        task.why
        == "entered segment 'Education at risk' on 2026-06-30: health 35, at risk; active days (90d) fell 14 → 6"
    )
    firing = PlayFiring.objects.get()
    assert firing.facts["measure"]["metric"] == "active_days_90d" and firing.facts["score_7d_ago"] == 62
    assert firing.task == task and TaskEvent.objects.get().kind == "opened"


def test_segment_left(edu):
    segment = Segment.objects.create(name="Power users", rule={"field": "arr", "op": "gt", "value": 0})
    a, b = AccountFactory(vertical=edu), AccountFactory(vertical=edu)
    for account in (a, b):
        score(account, D, 50)
    SegmentMembership.objects.create(segment=segment, account=a, entered_on=D - WEEK, left_on=D)
    SegmentMembership.objects.create(segment=segment, account=b, entered_on=D - WEEK)
    play_apply("Left power", {"type": "segment_left", "segment": "Power users"})
    plays_fire(day=D, notify=False)
    assert list(Task.objects.values_list("account", flat=True)) == [a.pk]
    assert Task.objects.get().why.startswith("left segment 'Power users' on 2026-06-30")


def test_band_became_compares_with_the_previous_published_day(edu):
    fell, stayed, rose, new = (AccountFactory(vertical=edu) for _ in range(4))
    prev = D - dt.timedelta(days=3)  # days may have gaps (history is weekly further back)
    score(fell, prev, 50), score(fell, D, 30)
    score(stayed, prev, 30), score(stayed, D, 20)
    score(rose, prev, 30), score(rose, D, 75)
    score(new, D, 10)  # no previous result: not a change
    play_apply("Became at risk", {"type": "band_became", "band": "at_risk"})
    plays_fire(day=D, notify=False)
    (firing,) = PlayFiring.objects.all()
    assert firing.account == fell and firing.facts["trigger"]["band_then"] == "neutral"
    assert firing.why.startswith("band became at risk (was neutral) on 2026-06-30: health 30, at risk")


def test_score_dropped_by_points_within_7_days(edu):
    big, small, no_history = (AccountFactory(vertical=edu) for _ in range(3))
    score(big, D - WEEK, 80), score(big, D, 60)
    score(small, D - WEEK, 80), score(small, D, 70)
    score(no_history, D, 10)
    play_apply("Drop", {"type": "score_dropped", "points": 15})
    plays_fire(day=D, notify=False)
    (firing,) = PlayFiring.objects.all()
    assert firing.account == big and firing.facts["trigger"] == {
        "type": "score_dropped",
        "points": 20,
        "score_then": 80,
        "score_now": 60,
    }
    assert "score fell 20 points in 7 days (80 → 60)" in firing.why


def test_renewal_within_fires_when_the_window_is_crossed(edu):
    crossing = AccountFactory(vertical=edu, renewal_date=D + dt.timedelta(days=30))
    inside = AccountFactory(vertical=edu, renewal_date=D + dt.timedelta(days=10))  # crossed 30 days long ago
    outside = AccountFactory(vertical=edu, renewal_date=D + dt.timedelta(days=31))
    for account in (crossing, inside, outside):
        score(account, D - dt.timedelta(days=1), 50), score(account, D, 50)
    play_apply(
        "Renewal",
        {"type": "renewal_within", "days": 30},
        condition={"field": "health_band", "op": "ne", "value": "healthy"},
    )
    plays_fire(day=D, notify=False)
    (firing,) = PlayFiring.objects.all()
    assert firing.account == crossing and "renewal in 30 days (2026-07-30)" in firing.why


def test_driver_unused_for_90_days(edu, csm_owner):
    reminders, video = FeatureFactory(key="reminders", name="Reminders"), FeatureFactory(key="video", name="Video")
    idle, busy = AccountFactory(vertical=edu), AccountFactory(vertical=edu)
    for account in (idle, busy):
        score(account, D, 50)
        StatedDriver.objects.create(account=account, feature=reminders, recorded_by=csm_owner)
    StatedDriver.objects.create(account=idle, feature=video, recorded_by=csm_owner)
    usage(idle, reminders, D - dt.timedelta(days=95))  # outside the 90 days
    usage(busy, reminders, D - dt.timedelta(days=5))
    StatedDriver.objects.update(recorded_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    play_apply("Driver unused", {"type": "driver_unused"})
    plays_fire(day=D, notify=False)
    (firing,) = PlayFiring.objects.all()
    assert firing.account == idle and firing.facts["trigger"]["features"] == ["Reminders", "Video"]
    assert "stated drivers Reminders, Video unused for 90 days" in firing.why


def test_condition_filters_with_the_segment_grammar(edu):
    tech = VerticalFactory(name="Tech Sales")
    a, b = AccountFactory(vertical=edu), AccountFactory(vertical=tech)
    for account in (a, b):
        score(account, D - WEEK, 90), score(account, D, 50)
    play_apply(
        "Edu drops",
        {"type": "score_dropped", "points": 10},
        condition={"field": "vertical", "op": "eq", "value": "education"},
    )
    plays_fire(day=D, notify=False)
    assert list(PlayFiring.objects.values_list("account", flat=True)) == [a.pk]


def test_churned_and_not_started_accounts_never_fire(edu):
    churned = AccountFactory(vertical=edu, churned_on=D)
    not_started = AccountFactory(vertical=edu, start_date=D + WEEK)
    customer = AccountFactory(vertical=edu)
    for account in (churned, not_started, customer):
        score(account, D - WEEK, 90)
    score(churned, D, 0, band="churned")
    # Another change adds band 'not_started' (longer than today's column): any band that is not a
    # customer band must keep an account out, whatever its name.
    HealthScoreFactory(account=not_started, as_of=D, score=None, band="prospect")
    score(customer, D, 20)
    HealthScore.objects.filter(account=churned, as_of=D).update(score=None)
    play_apply("Drop", {"type": "score_dropped", "points": 10})
    play_apply("Unknown band", {"type": "band_became", "band": "unknown"})
    plays_fire(day=D, notify=False)
    assert list(PlayFiring.objects.values_list("account", flat=True)) == [customer.pk]


def test_rerun_of_the_same_day_fires_nothing_twice(edu):
    account = AccountFactory(vertical=edu)
    score(account, D - WEEK, 90), score(account, D, 50)
    play_apply("Drop", {"type": "score_dropped", "points": 10})
    assert plays_fire(day=D, notify=False).fired == 1
    assert plays_fire(day=D, notify=False).fired == 0
    assert (PlayFiring.objects.count(), Task.objects.count(), TaskEvent.objects.count()) == (1, 1, 1)


def test_open_task_is_updated_not_duplicated(edu):
    account = AccountFactory(vertical=edu)
    later = D + dt.timedelta(days=2)
    score(account, D - WEEK, 90), score(account, D, 50)
    score(account, later - WEEK, 95), score(account, later, 40)
    play_apply("Drop", {"type": "score_dropped", "points": 10})  # no cooldown
    plays_fire(day=D, notify=False)
    report = plays_fire(day=later, notify=False)
    assert (report.fired, report.tasks_opened, report.tasks_updated) == (1, 0, 1)
    task = Task.objects.get()
    assert task.due_date == later + dt.timedelta(days=3) and "(95 → 40)" in task.why
    assert PlayFiring.objects.filter(task=task).count() == 2
    assert list(TaskEvent.objects.order_by("id").values_list("kind", flat=True)) == ["opened", "refreshed"]


def test_a_closed_task_lets_the_play_open_a_new_one(edu, csm_owner):
    account = AccountFactory(vertical=edu)
    later = D + dt.timedelta(days=2)
    score(account, D - WEEK, 90), score(account, D, 50)
    score(account, later - WEEK, 95), score(account, later, 40)
    play_apply("Drop", {"type": "score_dropped", "points": 10})
    plays_fire(day=D, notify=False)
    Task.objects.update(status="done")
    plays_fire(day=later, notify=False)
    assert sorted(Task.objects.values_list("status", flat=True)) == ["done", "open"]


def test_cooldown_per_play_and_account(edu):
    account = AccountFactory(vertical=edu)
    days = [D, D + dt.timedelta(days=5), D + dt.timedelta(days=10)]
    for day in days:
        score(account, day - WEEK, 90), score(account, day, 50)
    play_apply("Drop", {"type": "score_dropped", "points": 10}, cooldown_days=10)
    fired = [plays_fire(day=day, notify=False).fired for day in days]
    assert fired == [1, 0, 1]  # day 5 is within the 10-day cooldown; day 10 is not


def test_a_backfill_of_an_earlier_day_fires_nothing(edu):
    account = AccountFactory(vertical=edu)
    earlier = D - dt.timedelta(days=3)
    for day in (earlier, D):
        score(account, day - WEEK, 90), score(account, day, 50)
    play_apply("Drop", {"type": "score_dropped", "points": 10})
    plays_fire(day=D, notify=False)
    report = plays_fire(day=earlier, notify=False)
    assert report.backfill and report.fired == 0


def test_templates_with_missing_values_never_fail(edu):
    account = AccountFactory(vertical=edu, name="Acme", renewal_date=None, owner=None)
    score(account, D - WEEK, 90), score(account, D, 50)
    play_apply(
        "Drop",
        {"type": "score_dropped", "points": 10},
        task={
            "title": "{account.name} renews in {account.days_to_renewal} days ({trigger.segment})",
            "body": "Owner: {account.owner}. Measure: {measure.text}. {not a placeholder} {{account.name}}",
        },
    )
    plays_fire(day=D, notify=False)
    task = Task.objects.get()
    assert task.title == "Acme renews in  days ()"
    assert task.body == "Owner: . Measure: . {not a placeholder} {Acme}"
    assert task.assignee is None  # no owner: unassigned, visible on the task list
    # An unknown placeholder (only possible for a play saved before a rename) stays as written.
    assert render_template("{account.nmae} {health.score}", {"health": {"score": None}}) == "{account.nmae} "


def test_assignee_rules_user_and_group(edu, csm_owner):
    other = UserFactory(username="robin", email="robin@example.com", roles=["CSM"])
    accounts = [AccountFactory(vertical=edu) for _ in range(4)]
    for account in accounts:
        score(account, D - WEEK, 90), score(account, D, 50)
    play_apply(
        "To Robin",
        {"type": "score_dropped", "points": 10},
        task={"title": "t", "assignee": "user:ROBIN@example.com", "priority": "high"},
    )
    play_apply("To CSMs", {"type": "score_dropped", "points": 10}, task={"title": "t", "assignee": "group:CSM"})
    plays_fire(day=D, notify=False)
    robin = Task.objects.filter(play__name="To Robin")
    assert set(robin.values_list("assignee", flat=True)) == {other.pk} and set(
        robin.values_list("priority", flat=True)
    ) == {"high"}
    spread = set(Task.objects.filter(play__name="To CSMs").values_list("assignee", flat=True))
    assert spread == {csm_owner.pk, other.pk}


def test_recompute_command_fires_plays_at_publish(edu, csm_owner):
    feature = FeatureFactory(key="scheduling")
    lincoln = AccountFactory(name="Lincoln High", vertical=edu, owner=csm_owner)
    busy = AccountFactory(vertical=edu)
    for n in range(20):
        usage(busy, feature, D - dt.timedelta(days=n))
    config_apply(
        document={
            "version": 1,
            "scorecards": [{"name": "Any", "measures": [{"metric": "active_days_30d", "red": 0, "green": 10}]}],
            "segments": [{"name": "Quiet", "rule": {"field": "health_band", "op": "eq", "value": "at_risk"}}],
            "plays": [
                {
                    "name": "Quiet accounts",
                    "trigger": {"type": "segment_entered", "segment": "Quiet"},
                    "task": {"title": "Call {account.name}", "assignee": "owner"},
                }
            ],
        }
    )
    call_command("recompute", as_of=D.isoformat())
    call_command("recompute", as_of=D.isoformat())  # a re-run of the day
    task = Task.objects.get()
    assert (task.account, task.assignee, task.title) == (lincoln, csm_owner, "Call Lincoln High")
    assert task.why == "entered segment 'Quiet' on 2026-06-30: no health score (unknown)" or task.why.startswith(
        "entered segment 'Quiet' on 2026-06-30: health 0, at risk"
    )


TASK = {"title": "Call {account.name}"}


def test_plays_sharing_a_trigger_type_fire_each_for_its_own_accounts(edu):
    """One DayScan serves all plays of a firing: two score drops (the pass made for the smaller
    drop) and two band changes still fire each play for exactly its accounts."""
    fell_12, fell_30, steady = (AccountFactory(vertical=edu) for _ in range(3))
    prev = D - dt.timedelta(days=1)
    score(fell_12, D - WEEK, 72), score(fell_12, prev, 72), score(fell_12, D, 60)  # healthy → neutral
    score(fell_30, D - WEEK, 65), score(fell_30, prev, 65), score(fell_30, D, 35)  # neutral → at risk
    score(steady, D - WEEK, 50), score(steady, prev, 50), score(steady, D, 49)
    config_apply(
        document={
            "version": 1,
            "plays": [
                {
                    "name": "Drop 25",
                    "trigger": {"type": "score_dropped", "points": 25},
                    "task": TASK,
                },  # by name: asked first
                {"name": "Drop 9", "trigger": {"type": "score_dropped", "points": 9}, "task": TASK},
                {"name": "At risk", "trigger": {"type": "band_became", "band": "at_risk"}, "task": TASK},
                {"name": "Neutral", "trigger": {"type": "band_became", "band": "neutral"}, "task": TASK},
            ],
        }
    )
    report = plays_fire(day=D, notify=False)
    fired = sorted(PlayFiring.objects.values_list("play__name", "account_id"))
    assert fired == sorted(
        [
            ("At risk", fell_30.pk),
            ("Drop 9", fell_12.pk),
            ("Drop 9", fell_30.pk),
            ("Drop 25", fell_30.pk),
            ("Neutral", fell_12.pk),
        ]
    )
    assert report.per_play == {"At risk": 1, "Drop 9": 2, "Drop 25": 1, "Neutral": 1}


class _Undo(Exception):
    pass


def _firing_queries(edu, n: int) -> int:
    try:
        with transaction.atomic():
            for _ in range(n):
                account = AccountFactory(vertical=edu)
                score(account, D - WEEK, 90), score(account, D - dt.timedelta(days=1), 90), score(account, D, 30)
            with CaptureQueriesContext(connection) as queries:
                assert plays_fire(day=D, notify=False).fired == 2 * n
            raise _Undo
    except _Undo:
        return len(queries.captured_queries)


def test_firing_queries_do_not_grow_with_the_accounts(edu):
    config_apply(
        document={
            "version": 1,
            "plays": [
                {
                    "name": "Drop",
                    "trigger": {"type": "score_dropped", "points": 10},
                    "task": {"title": "Call {account.name}"},
                },
                {
                    "name": "At risk",
                    "trigger": {"type": "band_became", "band": "at_risk"},
                    "task": TASK,
                    "condition": {"field": "vertical", "op": "eq", "value": "Education"},
                },
            ],
        }
    )
    assert _firing_queries(edu, 2) == _firing_queries(edu, 12)
