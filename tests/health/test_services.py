"""The risk list's precomputed columns on HealthScore (score_30d_ago, slipping): values, idempotence,
written by the recompute's publish step, refreshed when the day 30 days before is re-run."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboards.selectors import risk_accounts
from health.models import HealthScore
from health.services import health_scores_mark_slipping
from pipeline.services import recompute
from tests.factories import AccountFactory, HealthScoreFactory

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)
THEN = D - dt.timedelta(days=30)


def scores(account, now, then=None, *, band="neutral"):
    HealthScoreFactory(account=account, as_of=D, score=now, band=band)
    if then is not None:
        HealthScoreFactory(account=account, as_of=THEN, score=then, band="healthy")


def marks(account):
    row = HealthScore.objects.get(account=account, as_of=D)
    return row.score_30d_ago, row.slipping


def test_mark_slipping_values_and_idempotence():
    fell_20, fell_15, fell_14 = AccountFactory(), AccountFactory(), AccountFactory()
    no_history, unscored, rose = AccountFactory(), AccountFactory(), AccountFactory()
    scores(fell_20, 60, 80)
    scores(fell_15, 65, 80)  # exactly 15 points: slipping
    scores(fell_14, 66, 80)
    scores(no_history, 10)
    scores(unscored, None, 80, band="unknown")
    scores(rose, 90, 40)
    HealthScoreFactory(account=fell_20, as_of=D - dt.timedelta(days=29), score=99, band="healthy")  # not 30 days

    assert health_scores_mark_slipping(day=D) == 6
    expected = {
        fell_20: (80, True),
        fell_15: (80, True),
        fell_14: (80, False),
        no_history: (None, False),
        unscored: (80, False),
        rose: (40, False),
    }
    assert {a: marks(a) for a in expected} == expected
    assert HealthScore.objects.get(account=fell_20, as_of=THEN).slipping is None  # other days untouched

    health_scores_mark_slipping(day=D)  # a re-run leaves the same state
    assert {a: marks(a) for a in expected} == expected
    HealthScore.objects.filter(account=fell_14, as_of=THEN).update(score=81)
    health_scores_mark_slipping(day=D)
    assert marks(fell_14) == (81, True)
    assert health_scores_mark_slipping(day=D + dt.timedelta(days=1)) == 0  # a day without rows


def test_risk_list_reads_the_precomputed_mark():
    slipping, steady, at_risk = AccountFactory(arr=300), AccountFactory(arr=200), AccountFactory(arr=100)
    scores(slipping, 60, 80)
    scores(steady, 70, 80)
    scores(at_risk, 20, 25, band="at_risk")
    health_scores_mark_slipping(day=D)
    rows = list(risk_accounts(D))
    assert [(a, a.score_now, a.score_then) for a in rows] == [(slipping, 60, 80), (at_risk, 20, 25)]


def test_recompute_publishes_the_marks_and_refreshes_them_when_the_day_before_is_rerun():
    account = AccountFactory()  # no usage: the recompute scores it unknown (score NULL)
    HealthScoreFactory(account=account, as_of=THEN, score=100, band="healthy")
    recompute(as_of=D)
    assert marks(account) == (100, False)
    recompute(as_of=D)  # a re-run of the same date leaves the same state
    assert marks(account) == (100, False)
    assert HealthScore.objects.filter(as_of=D).count() == 1

    # Re-running the date 30 days before replaces its score (here with NULL): D's mark follows.
    recompute(as_of=THEN)
    assert HealthScore.objects.get(account=account, as_of=THEN).score is None
    assert marks(account) == (None, False)


def test_backfill_command_marks_the_latest_day_or_the_given_one():
    account = AccountFactory()
    scores(account, 50, 90)
    HealthScore.objects.filter(as_of=D).update(score_30d_ago=None, slipping=None)  # loaded outside a recompute
    out = StringIO()
    call_command("backfill_slipping", stdout=out)
    assert out.getvalue().strip() == f"{D}: marked 1 results, 1 slipping" and marks(account) == (90, True)
    call_command("backfill_slipping", "--date", THEN.isoformat(), stdout=StringIO())
    assert HealthScore.objects.get(account=account, as_of=THEN).slipping is False  # nothing 30 days before it
    with pytest.raises(CommandError, match="--date: 'June 30' is not a date in YYYY-MM-DD form"):
        call_command("backfill_slipping", "--date", "June 30")


def test_backfill_command_without_results():
    out = StringIO()
    call_command("backfill_slipping", stdout=out)
    assert out.getvalue().strip() == "no results yet: nothing to fill"
