"""The scorecard preview selector: band counts saved vs edited, as of the latest results, per SPEC §5.2 selection."""

import datetime as dt
from decimal import Decimal

import pytest

from health.models import HealthScore, Scorecard
from health.selectors import scorecard_preview
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    HealthScoreFactory,
    MeasureFactory,
    UseCaseFactory,
    VerticalFactory,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def scored(account, day=D, **metrics):
    AccountMetricsFactory(account=account, as_of=day, **metrics)
    HealthScoreFactory(account=account, as_of=day, score=None, band="unknown")
    return account


def scorecard(name, vertical=None, use_case=None, *, measures, active=True, healthy_at=70, at_risk_below=40):
    sc = Scorecard.objects.create(
        name=name,
        vertical=vertical,
        use_case=use_case,
        active=active,
        healthy_at=healthy_at,
        at_risk_below=at_risk_below,
    )
    for i, (metric, weight, red, green) in enumerate(measures):
        MeasureFactory(scorecard=sc, metric=metric, weight=weight, red=red, green=green, position=i)
    return sc


def draft_of(sc, **changes):
    draft = {
        "name": sc.name,
        "active": sc.active,
        "healthy_at": sc.healthy_at,
        "at_risk_below": sc.at_risk_below,
        "vertical_id": sc.vertical_id,
        "use_case_id": sc.use_case_id,
        "measures": [
            {"metric": m.metric, "weight": m.weight, "red": m.red, "green": m.green} for m in sc.measures.all()
        ],
    }
    draft.update(changes)
    return draft


def counts(preview):
    return {b["band"]: (b["saved"], b["edited"]) for b in preview["bands"]}


@pytest.fixture
def education():
    """Education: 3 accounts at 2, 5 and 9 active days (90d); Sales: 2 accounts; one churned Education account."""
    edu, sales = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    accounts = {
        days: scored(AccountFactory(name=f"Edu {days}", vertical=edu), active_days_90d=days) for days in (2, 5, 9)
    }
    for days in (1, 10):
        scored(AccountFactory(name=f"Sales {days}", vertical=sales), active_days_90d=days)
    scored(AccountFactory(name="Edu gone", vertical=edu, churned_on=dt.date(2026, 5, 1)), active_days_90d=0)
    sc = scorecard("Education", edu, measures=[("active_days_90d", 1, 0, 10)])
    return sc, accounts, sales


def test_saved_rules_are_the_baseline_and_edits_move_bands(education):
    sc, accounts, _ = education
    # Saved: 2 → 20 at risk, 5 → 50 neutral, 9 → 90 healthy. Edited green 5: 40 neutral, 100, 100 healthy.
    preview = scorecard_preview(
        draft=draft_of(sc, measures=[{"metric": "active_days_90d", "weight": 1, "red": 0, "green": 5}]),
        scorecard_id=sc.pk,
    )
    assert preview["as_of"] == D
    assert preview["accounts"] == 3  # the churned account and the other vertical are left out
    assert counts(preview) == {"healthy": (1, 2), "neutral": (1, 1), "at_risk": (1, 0), "unknown": (0, 0)}
    moved = {c["name"]: (c["old_score"], c["old_band"], c["new_score"], c["new_band"]) for c in preview["changes"]}
    assert moved == {"Edu 5": (50, "Neutral", 100, "Healthy"), "Edu 2": (20, "At risk", 40, "Neutral")}
    assert preview["changes"][0]["name"] == "Edu 5"  # the larger score move first
    assert preview["changes"][0]["id"] == accounts[5].pk


def test_an_unchanged_draft_changes_nothing(education):
    sc, _, _ = education
    preview = scorecard_preview(draft=draft_of(sc), scorecard_id=sc.pk)
    assert preview["changed"] == 0 and preview["changes"] == []
    assert all(saved == edited for saved, edited in counts(preview).values())


def test_thresholds_alone_move_bands(education):
    sc, _, _ = education
    preview = scorecard_preview(draft=draft_of(sc, healthy_at=50), scorecard_id=sc.pk)
    assert counts(preview)["healthy"] == (1, 2)


def test_scope_change_compares_the_accounts_it_leaves_and_those_it_takes(education):
    sc, _, sales = education
    catch_all = scorecard("Everyone", measures=[("active_days_90d", 1, 0, 100)])  # everything at risk
    preview = scorecard_preview(draft=draft_of(sc, vertical_id=sales.pk), scorecard_id=sc.pk)
    # Education accounts fall back to the catch-all (at risk); Sales accounts move from it to the edited card.
    assert preview["accounts"] == 5
    assert counts(preview) == {"healthy": (1, 1), "neutral": (1, 0), "at_risk": (3, 4), "unknown": (0, 0)}
    names = {c["name"] for c in preview["changes"]}
    assert names == {"Edu 5", "Edu 9", "Sales 10"}
    assert catch_all.pk  # stays saved: the preview writes nothing
    assert HealthScore.objects.filter(score__isnull=False).count() == 0


def test_a_more_specific_scorecard_keeps_its_accounts(education):
    sc, accounts, _ = education
    pta = UseCaseFactory(name="PTA meetings")
    specific = AccountFactory(name="Edu PTA", vertical=sc.vertical, primary_use_case=pta)
    scored(specific, active_days_90d=1)
    scorecard("Education PTA", sc.vertical, pta, measures=[("active_days_90d", 1, 0, 1)])
    preview = scorecard_preview(draft=draft_of(sc, healthy_at=10), scorecard_id=sc.pk)
    assert preview["accounts"] == 3  # "Edu PTA" is scored by the (vertical, use case) scorecard, first in §5.2 order


def test_inactive_draft_and_new_scorecards(education):
    sc, _, sales = education
    off = scorecard_preview(draft=draft_of(sc, active=False), scorecard_id=sc.pk)
    assert counts(off)["unknown"] == (0, 3)  # no other scorecard: no score
    new = scorecard_preview(
        draft={
            "name": "Sales",
            "active": True,
            "healthy_at": 70,
            "at_risk_below": 40,
            "vertical_id": sales.pk,
            "use_case_id": None,
            "measures": [{"metric": "active_days_90d", "weight": Decimal(1), "red": 0, "green": 10}],
        },
        scorecard_id=None,
    )
    assert new["accounts"] == 2
    assert counts(new) == {"healthy": (0, 1), "neutral": (0, 0), "at_risk": (0, 1), "unknown": (2, 0)}


def test_uses_the_latest_results_date_and_at_most_ten_changes():
    vertical = VerticalFactory(name="Recruiting")
    old_day = D - dt.timedelta(days=1)
    for _ in range(15):
        account = AccountFactory(vertical=vertical)
        scored(account, day=old_day, active_days_90d=0)
        scored(account, active_days_90d=5)
    sc = scorecard("Recruiting", vertical, measures=[("active_days_90d", 1, 0, 10)])
    preview = scorecard_preview(draft=draft_of(sc, healthy_at=50), scorecard_id=sc.pk)
    assert preview["as_of"] == D and preview["accounts"] == 15
    assert preview["changed"] == 15 and len(preview["changes"]) == 10


def test_no_results_yet():
    sc = scorecard("Any", measures=[("active_days_90d", 1, 0, 10)])
    assert scorecard_preview(draft=draft_of(sc), scorecard_id=sc.pk) == {"as_of": None}


def test_query_count_does_not_grow_with_accounts(education, django_assert_num_queries):
    sc, _, _ = education
    draft = draft_of(sc)
    with django_assert_num_queries(4):
        scorecard_preview(draft=draft, scorecard_id=sc.pk)
    for days in range(20):
        scored(AccountFactory(vertical=sc.vertical), active_days_90d=days)
    with django_assert_num_queries(4):
        preview = scorecard_preview(draft=draft, scorecard_id=sc.pk)
    assert preview["accounts"] == 23
