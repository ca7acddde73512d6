"""Every day with results has its rollups: the data migration fills them on an upgraded database,
`rollups_backfill` does the same on demand, and both are idempotent."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from dashboards.models import RevenueDay, VerticalDay
from dashboards.rollups import StuckSummary, UseCaseCounts, VerticalUseCaseCounts
from segments.models import SegmentDay
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    ArrChangeFactory,
    HealthScoreFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    UseCaseFactory,
    VerticalFactory,
)

D = dt.date(2026, 6, 30)
BEFORE = D - dt.timedelta(days=1)
PREVIOUS_LEAF = [("dashboards", "0004_segmentday_moves_to_segments")]
BACKFILL = [("dashboards", "0005_rollups_backfill")]


def results_without_rollups():
    """Two days of results, as a database upgraded from before the rollups holds them."""
    edu = VerticalFactory(name="Education")
    pta = UseCaseFactory(name="PTA meetings")
    big = SegmentFactory(name="Big", rule={"field": "arr", "op": "gte", "value": 1000})
    for i, (arr, band) in enumerate([(1000, "healthy"), (3000, "at_risk"), (500, "neutral")]):
        account = AccountFactory(vertical=edu, primary_use_case=pta, arr=arr)
        ArrChangeFactory(account=account, date=D - dt.timedelta(days=400), arr=arr)
        for day in (BEFORE, D):
            HealthScoreFactory(account=account, as_of=day, score=80 - 30 * i, band=band)
            AccountMetricsFactory(account=account, as_of=day)
        if arr >= 1000:
            SegmentMembershipFactory(segment=big, account=account, entered_on=BEFORE)
    return edu, pta, big


def rollup_rows() -> dict:
    return {
        "vertical": sorted(
            VerticalDay.objects.values_list(
                "vertical_id",
                "day",
                "accounts",
                "arr",
                "healthy",
                "at_risk",
                "median_score",
                "histogram",
                "use_cases",
                "journey_stages",
                "stuck",
            )
        ),
        "revenue": sorted(RevenueDay.objects.values_list("day", "trend", "retention", "pareto")),
        "segment": sorted(SegmentDay.objects.values_list("segment_id", "day", "members", "arr")),
    }


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_rollups_of_every_day_with_results():
    executor = MigrationExecutor(connection)
    executor.migrate(PREVIOUS_LEAF)
    try:
        edu, pta, big = results_without_rollups()
        # A row of an older shape (written before `stuck` and the use cases' accounts/ARR existed).
        VerticalDay.objects.create(vertical=edu, day=BEFORE, accounts=3, use_cases={"1": {"healthy": 1, "at_risk": 0}})
        executor = MigrationExecutor(connection)  # the graph as migrated back
        executor.migrate(BACKFILL)
        assert sorted(VerticalDay.objects.values_list("day", flat=True)) == [BEFORE, D]
        assert sorted(RevenueDay.objects.values_list("day", flat=True)) == [BEFORE, D]
        assert sorted(SegmentDay.objects.values_list("day", flat=True)) == [BEFORE, D]
        row = VerticalDay.objects.get(day=BEFORE)
        assert (row.accounts, row.arr, row.healthy, row.at_risk) == (3, Decimal(4500), 1, 1)
        assert StuckSummary.from_json(row.stuck).accounts == 0  # the current shape, readable as such
        assert VerticalUseCaseCounts.from_json(row.use_cases).by_use_case == {
            pta.pk: UseCaseCounts(healthy=1, at_risk=1, accounts=3, arr=Decimal(4500))
        }
        assert SegmentDay.objects.get(day=D, segment=big).members == 2
        rows = rollup_rows()
        # Idempotent: the migration's backfill run again writes nothing new.
        out = StringIO()
        call_command("rollups_backfill", stdout=out)
        assert "vertical rollups for 0, revenue figures for 0, segment figures for 0" in out.getvalue()
        assert rollup_rows() == rows
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_rollups_backfill_is_idempotent_and_force_rewrites_the_same():
    results_without_rollups()
    call_command("rollups_backfill", stdout=StringIO())
    first = rollup_rows()
    assert len(first["vertical"]) == 2 and len(first["revenue"]) == 2 and len(first["segment"]) == 2
    call_command("rollups_backfill", stdout=StringIO())
    assert rollup_rows() == first
    call_command("rollups_backfill", "--force", stdout=StringIO())
    assert rollup_rows() == first


@pytest.mark.django_db
def test_rollups_backfill_fills_only_what_is_missing():
    results_without_rollups()
    call_command("rollups_backfill", stdout=StringIO())
    VerticalDay.objects.filter(day=D).update(accounts=99)  # an edited row of a day that has its rollups
    SegmentDay.objects.filter(day=BEFORE).delete()
    out = StringIO()
    call_command("rollups_backfill", stdout=out)
    assert "vertical rollups for 0, revenue figures for 0, segment figures for 1" in out.getvalue()
    assert VerticalDay.objects.get(day=D).accounts == 99 and SegmentDay.objects.filter(day=BEFORE).count() == 1
    call_command("rollups_backfill", "--day", D.isoformat(), "--force", stdout=StringIO())
    assert VerticalDay.objects.get(day=D).accounts == 3
