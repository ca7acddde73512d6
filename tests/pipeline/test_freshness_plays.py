"""Plays fire at the publish of incremental runs (SPEC §4.5, §9): the touched accounts fire exactly
as the full run of the day would (same firings, tasks and deliveries, same dedupe and cooldown);
a re-run, another incremental run or a later full run of the day fires nothing twice; untouched
and churned accounts never fire from an incremental run."""

import datetime as dt

import pytest
from django.db import connection, transaction  # noqa: F401 - connection: the skipif conditions
from django.utils import timezone

from accounts.freshness import dirty_accounts_mark
from accounts.imports import import_accounts, import_nps, import_usage
from accounts.models import Account, DirtyAccount
from configuration.services import config_apply
from pipeline import freshness
from pipeline.services import recompute
from plays.models import Delivery, PlayFiring, Task
from segments.models import SegmentMembership
from tests.pipeline.test_freshness import CONFIG, N, _changes, accounts_csv, csv_bytes, usage_csv

pytestmark = pytest.mark.django_db

TASK = {"title": "{account.name}: {trigger.reason}", "assignee": "owner", "due_in_days": 3}
PLAYS = [
    {
        "name": "Became busy",
        "trigger": {"type": "segment_entered", "segment": "Busy"},
        "task": TASK,
        "notify": ["email"],
    },
    {"name": "Left busy", "trigger": {"type": "segment_left", "segment": "Busy"}, "task": TASK},
    {"name": "Became big", "trigger": {"type": "segment_entered", "segment": "Big"}, "task": TASK},
    {
        "name": "Became healthy",
        "trigger": {"type": "band_became", "band": "healthy"},
        "task": TASK,
        "cooldown_days": 30,
    },
    {"name": "Score fell", "trigger": {"type": "score_dropped", "points": 1}, "task": TASK},
    {
        "name": "Education busy",
        "trigger": {"type": "segment_entered", "segment": "Busy"},
        "condition": {"field": "vertical", "op": "eq", "value": "Education"},
        "task": TASK,
    },
]


@pytest.fixture
def world():
    """The twelve accounts of test_freshness with the plays above; full runs published for a week
    ago, yesterday and today (band changes compare with yesterday, score drops with a week ago)."""
    today = timezone.localdate()
    config_apply(document={**CONFIG, "plays": PLAYS})
    import_accounts(csv_bytes(accounts_csv()))
    rows = []
    for i in range(N):
        ext = f"{'E' if i < N // 2 else 'T'}{i % (N // 2)}"
        for n in range(i % 5):
            rows.append((ext, today - dt.timedelta(days=2 * n), "scheduling", n + 1))
    import_usage(csv_bytes(usage_csv(rows)))
    import_nps(csv_bytes("account_external_id,date,score,comment\nE1,%s,3,meh\n" % (today - dt.timedelta(days=3))))
    for day in (today - dt.timedelta(days=7), today - dt.timedelta(days=1), today):
        recompute(as_of=day)
    assert not DirtyAccount.objects.exists()
    return today


def firings(day) -> set[tuple]:
    """What fired on `day`, by names (ids differ between two ways of reaching the same state)."""
    return set(
        PlayFiring.objects.filter(day=day).values_list(
            "play__name", "account__external_id", "why", "task__title", "task__assignee__username"
        )
    )


def deliveries(day) -> set[tuple]:
    return set(
        Delivery.objects.filter(firing__day=day).values_list(
            "firing__play__name", "firing__account__external_id", "channel"
        )
    )


def open_tasks() -> list[tuple]:
    return sorted(Task.objects.open().values_list("play__name", "account__external_id"))


def incremental(today):
    run = freshness.incremental_schedule()
    result = freshness.incremental_execute(run_id=run.pk)
    assert result.status == "succeeded", result.error
    return result


class _Undo(Exception):
    pass


def what_a_full_run_fires(today) -> tuple[set, set, list]:
    """The firings, deliveries and open tasks a full run of today would leave, then rolled back."""
    try:
        with transaction.atomic():
            recompute(as_of=today)
            seen = firings(today), deliveries(today), open_tasks()
            raise _Undo
    except _Undo:
        pass
    return seen


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_an_incremental_run_fires_for_its_accounts_what_the_full_run_would(world):
    today = world
    fired_at_night = firings(today)
    _changes(today)  # E0 busy and healthy, T2 heavy usage, E4, E1's NPS, T3 moves and becomes Big, E5 churns
    touched = set(
        Account.objects.filter(pk__in=DirtyAccount.objects.values("account_id")).values_list("external_id", flat=True)
    )
    assert touched == {"E0", "T2", "E4", "E1", "T3", "E5"}

    full = what_a_full_run_fires(today)
    assert not DirtyAccount.objects.exists() or DirtyAccount.objects.count() == len(touched)  # rolled back: marks back
    incremental(today)
    assert (firings(today), deliveries(today), open_tasks()) == full

    new = firings(today) - fired_at_night
    assert new and {ext for _, ext, *_ in new} <= touched - {"E5"}  # E5 churned: it never fires
    names = {(play, ext) for play, ext, *_ in new}
    assert {
        ("Became busy", "E0"),
        ("Education busy", "E0"),
        ("Became healthy", "E0"),
        ("Became healthy", "T2"),
    } <= names
    why = {(play, ext): w for play, ext, w, *_ in new}
    assert why[("Became healthy", "T2")].startswith(
        f"band became healthy (was at risk) on {today.isoformat()}: health "
    )
    assert ("Became busy", "E0", "email") in deliveries(today)  # notified like a firing of the night


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_rerun_another_incremental_run_or_the_full_run_of_the_day_fires_nothing_twice(world):
    today = world
    _changes(today)
    incremental(today)
    after_first = (firings(today), deliveries(today), open_tasks(), Task.objects.count())
    assert after_first[0]

    # The same accounts written again (E0 busier still): a second incremental run of the day.
    import_usage(csv_bytes(usage_csv([("E0", today, "scheduling", 9), ("T3", today, "scheduling", 2)])))
    assert DirtyAccount.objects.exists()
    incremental(today)
    assert (firings(today), deliveries(today), open_tasks(), Task.objects.count()) == after_first

    recompute(as_of=today)  # the night's run of the same day, again
    assert (firings(today), deliveries(today), open_tasks(), Task.objects.count()) == after_first


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_untouched_accounts_never_fire_from_an_incremental_run(world):
    """A play saved after the night's run would fire, in a full run, for every account that entered
    Busy today; an incremental run fires it for the re-scored accounts only."""
    today = world
    busy_today = set(
        SegmentMembership.objects.filter(segment__name="Busy", entered_on=today).values_list(
            "account__external_id", flat=True
        )
    )
    assert busy_today, "the fixture has accounts that entered Busy today"
    config_apply(
        document={
            "version": 1,
            "plays": [
                *PLAYS,
                {"name": "Busy, saved later", "trigger": {"type": "segment_entered", "segment": "Busy"}, "task": TASK},
            ],
        }
    )
    DirtyAccount.objects.all().delete()  # whatever the config marked: only E0 is re-scored below
    import_usage(csv_bytes(usage_csv([("E0", today - dt.timedelta(days=d), "scheduling", 4) for d in range(5)])))
    assert set(DirtyAccount.objects.values_list("account__external_id", flat=True)) == {"E0"}

    before = firings(today)
    incremental(today)
    later = PlayFiring.objects.filter(play__name="Busy, saved later", day=today)
    assert set(later.values_list("account__external_id", flat=True)) == {"E0"}
    assert {ext for _, ext, *_ in firings(today) - before} == {"E0"}  # no other account fired in this run

    recompute(as_of=today)  # the full run fires the others now, and E0 not twice
    assert set(later.values_list("account__external_id", flat=True)) == {"E0"} | busy_today
    assert later.filter(account__external_id="E0").count() == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_cooldown_holds_across_incremental_runs(world):
    """'Became healthy' has a 30-day cooldown: an account that fired yesterday does not fire again
    today when an incremental run sees it become healthy once more."""
    today = world
    yesterday = today - dt.timedelta(days=1)
    e0 = Account.objects.get(external_id="E0")
    PlayFiring.objects.create(
        play_id=PlayFiring._meta.get_field("play").related_model.objects.get(name="Became healthy").pk,
        account=e0,
        day=yesterday,
        why="became healthy",
        facts={},
    )
    _changes(today)  # E0 becomes healthy today
    full = what_a_full_run_fires(today)
    incremental(today)
    assert firings(today) == full[0]
    assert not PlayFiring.objects.filter(play__name="Became healthy", account=e0, day=today).exists()
    dirty_accounts_mark(ids=Account.objects.filter(pk=e0.pk).values("pk"), reason="usage")
    incremental(today)
    assert not PlayFiring.objects.filter(play__name="Became healthy", account=e0, day=today).exists()
