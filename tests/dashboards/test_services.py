"""The VerticalDay rollup: values, idempotence, written by the recompute, backfilled from history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Account, AccountUseCase
from dashboards.models import RevenueDay, VerticalDay
from dashboards.services import rollups_backfill, vertical_days_rollup
from health.models import HealthScore
from pipeline.services import recompute
from segments.models import SegmentDay
from tests.factories import AccountFactory, HealthScoreFactory, SegmentFactory, UseCaseFactory, VerticalFactory

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def scored(vertical, arr, score, band, day=D, **kwargs):
    account = AccountFactory(vertical=vertical, arr=arr, **kwargs)
    HealthScoreFactory(account=account, as_of=day, score=score, band=band)
    return account


@pytest.fixture
def edu():
    edu = VerticalFactory(name="Education")
    scored(edu, 1000, 90, "healthy")
    scored(edu, 2000, 80, "healthy")
    scored(edu, 4000, 50, "neutral")
    scored(edu, 8000, 30, "at_risk")
    scored(edu, 16000, None, "unknown")
    scored(edu, 99999, None, "churned", churned_on=D)  # left out entirely
    return edu


def test_rollup_values(edu):
    assert vertical_days_rollup(start=D) == 1
    row = VerticalDay.objects.get(vertical=edu, day=D)
    assert (row.accounts, row.healthy, row.neutral, row.at_risk, row.unknown) == (5, 2, 1, 1, 1)
    assert row.arr == Decimal("31000.00") and row.arr_at_risk == Decimal("8000.00")
    assert row.median_score == 65.0  # median of 30, 50, 80, 90; unscored accounts don't count
    assert row.histogram == [[30, "at_risk", 1], [50, "neutral", 1], [80, "healthy", 1], [90, "healthy", 1]]


def test_rollup_counts_use_cases_of_healthy_and_at_risk_accounts(edu):
    board = UseCaseFactory(name="Board meetings")
    for account in Account.objects.filter(vertical=edu, arr__in=[1000, 8000]):
        AccountUseCase.objects.create(account=account, use_case=board)
    vertical_days_rollup(start=D)
    counts = VerticalDay.objects.get(day=D).use_cases
    # …and every scored account running it, whatever its band, with their ARR (cross-pollination's totals).
    assert counts[str(board.pk)] == {"healthy": 1, "at_risk": 1, "accounts": 2, "arr": "9000.00"}
    primaries = {k: v for k, v in counts.items() if k != str(board.pk)}
    assert sum(v["healthy"] for v in primaries.values()) == 2 and sum(v["at_risk"] for v in primaries.values()) == 1


def test_rollup_is_idempotent_and_replaces_the_day(edu):
    vertical_days_rollup(start=D)
    vertical_days_rollup(start=D)
    assert VerticalDay.objects.filter(day=D).count() == 1
    HealthScore.objects.filter(as_of=D, score=30).update(score=75, band="healthy")
    vertical_days_rollup(start=D)
    row = VerticalDay.objects.get(day=D)
    assert (row.healthy, row.at_risk, row.arr_at_risk, row.median_score) == (3, 0, 0, 77.5)
    assert [75, "healthy", 1] in row.histogram and not any(band == "at_risk" for _, band, _ in row.histogram)


def test_recompute_publishes_the_rollup_once_per_date():
    tech = VerticalFactory(name="Tech Sales")
    AccountFactory.create_batch(3, vertical=tech, arr=500)
    recompute(as_of=D)
    recompute(as_of=D)  # a re-run of the same date leaves the same state
    row = VerticalDay.objects.get()
    assert (row.vertical, row.day, row.accounts, row.unknown, row.arr) == (tech, D, 3, 3, Decimal("1500.00"))
    assert RevenueDay.objects.get().day == D


def test_recompute_publishes_the_segment_figures_once_per_date():
    big = SegmentFactory(name="Big", rule={"field": "arr", "op": "gte", "value": 1000})
    AccountFactory.create_batch(3, vertical=VerticalFactory(name="Tech Sales"), arr=500)
    AccountFactory(arr=2500)
    recompute(as_of=D)
    recompute(as_of=D)  # a re-run of the same date leaves the same state
    row = SegmentDay.objects.get()
    assert (row.segment, row.day, row.members, row.arr) == (big, D, 1, Decimal("2500.00"))


def test_backfill_from_history_and_command(edu):
    earlier = D - dt.timedelta(days=40)
    scored(edu, 500, 20, "at_risk", day=earlier)
    done = rollups_backfill()
    assert done.vertical_days == [earlier, D]  # one row per (vertical, date with scores)
    assert VerticalDay.objects.filter(vertical=edu).count() == 2
    VerticalDay.objects.filter(day=earlier).delete()
    call_command("rollups_backfill", "--from", earlier.isoformat(), "--to", earlier.isoformat(), stdout=None)
    assert VerticalDay.objects.filter(vertical=edu).count() == 2
    old = VerticalDay.objects.get(day=earlier)
    assert (old.accounts, old.at_risk, old.median_score) == (1, 1, 20.0)


def test_backfill_command_rejects_bad_dates():
    with pytest.raises(CommandError, match="--from: 'yesterday' is not a date"):
        call_command("rollups_backfill", "--from", "yesterday")
    with pytest.raises(CommandError, match="--from must not be after --to"):
        call_command("rollups_backfill", "--from", "2026-02-01", "--to", "2026-01-01")
    with pytest.raises(CommandError, match="--day: give either --day or --from/--to"):
        call_command("rollups_backfill", "--day", "2026-02-01", "--to", "2026-03-01")
