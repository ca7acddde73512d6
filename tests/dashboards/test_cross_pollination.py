"""Cross-pollination: the use cases healthy peers of a vertical run, with shares and thresholds."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F

from accounts.models import AccountUseCase
from dashboards.cross_pollination import account_suggestions, vertical_suggestions
from dashboards.models import VerticalDay
from tests.factories import AccountFactory, HealthScoreFactory, UseCaseFactory, VerticalFactory, write_rollups

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def account(vertical, use_cases, band, arr=10000, **kwargs):
    a = AccountFactory(vertical=vertical, primary_use_case=use_cases[0], arr=arr, **kwargs)
    for uc in use_cases[1:]:
        AccountUseCase.objects.create(account=a, use_case=uc)
    if band:
        HealthScoreFactory(account=a, as_of=D, score={"healthy": 80, "neutral": 55, "at_risk": 20}[band], band=band)
    return a


@pytest.fixture
def education():
    edu = VerticalFactory(name="Education")
    pta, board, clubs = (UseCaseFactory(name=n) for n in ("PTA meetings", "Board meetings", "Clubs"))
    # 10 healthy: all run PTA, 6 also run Board meetings (60%), 3 run Clubs (30%), 2 run both.
    for i in range(10):
        ucs = [pta] + ([board] if i < 6 else []) + ([clubs] if i >= 7 else [])
        account(edu, ucs, "healthy", arr=1000 + i)
    at_risk = [account(edu, [pta], "at_risk", arr=50000 + i) for i in range(3)]
    neutral_board = account(edu, [pta, board], "neutral", arr=70000)
    # Churned healthy-looking accounts running Clubs must not count as peers nor as missing.
    for _ in range(5):
        account(edu, [pta, clubs], "healthy", churned_on=D - dt.timedelta(days=1), arr=999999)
    # Another vertical's healthy accounts do not count either.
    other = VerticalFactory(name="Tech Sales")
    for _ in range(6):
        account(other, [UseCaseFactory(name="Pipeline reviews"), clubs], "healthy")
    write_rollups()  # as publish does after the day's results
    return {
        "vertical": edu,
        "pta": pta,
        "board": board,
        "clubs": clubs,
        "at_risk": at_risk,
        "neutral_board": neutral_board,
    }


def test_vertical_share_threshold_and_missing_accounts(education, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):  # the day's VerticalDay row, use case names, a missing list per use case
        suggestions = vertical_suggestions(education["vertical"], D)
    by_name = {s["use_case"]: s for s in suggestions}
    assert [s["use_case"] for s in suggestions] == ["PTA meetings", "Board meetings", "Clubs"]
    assert by_name["Board meetings"]["share"] == 60
    assert by_name["Board meetings"]["healthy_running"] == 6
    assert by_name["Board meetings"]["healthy_total"] == 10
    # 30% exactly qualifies: 3 of 10 healthy run Clubs (the churned ones are not counted).
    assert by_name["Clubs"]["share"] == 30 and by_name["Clubs"]["healthy_running"] == 3
    # Missing: active accounts of the vertical not running it (4 healthy + 3 at risk), churned excluded.
    board = by_name["Board meetings"]
    assert board["missing_count"] == 7
    assert board["missing_arr"] == Decimal(150000 + 3 + 1006 + 1007 + 1008 + 1009)
    assert [a["name"] for a in board["accounts"]][:3] == [a.name for a in reversed(education["at_risk"])]
    assert board["accounts"][0]["band"] == "at_risk" and board["accounts"][-1]["band"] == "healthy"
    assert education["neutral_board"].pk not in {a["id"] for a in board["accounts"]}
    assert board["talk_track"].startswith("60% of healthy Education accounts also run Board meetings: ask how")
    assert by_name["PTA meetings"]["missing_count"] == 0 and by_name["PTA meetings"]["accounts"] == []


def test_vertical_below_share_is_left_out(education):
    suggestions = vertical_suggestions(education["vertical"], D, min_share=31, limit=2)
    assert [s["use_case"] for s in suggestions] == ["PTA meetings", "Board meetings"]
    assert len(suggestions[1]["accounts"]) == 2  # limit


def test_too_few_healthy_peers_gives_nothing(education):
    assert vertical_suggestions(education["vertical"], D, min_peers=11) == []
    assert vertical_suggestions(education["vertical"], D, min_peers=10) != []
    assert vertical_suggestions(education["vertical"], D + dt.timedelta(days=1)) == []  # no results that day
    assert vertical_suggestions(education["vertical"], None) == []


def test_account_suggestions_skip_what_it_runs(education, django_assert_max_num_queries):
    target = education["at_risk"][0]
    with django_assert_max_num_queries(6):  # 5, plus the look-up of the day's VerticalDay row (none here)
        suggestions = account_suggestions(target, D)
    assert [(s["use_case"], s["share"]) for s in suggestions] == [("Board meetings", 60), ("Clubs", 30)]
    assert suggestions[0]["talk_track"].startswith("60% of healthy Education accounts also run Board meetings")
    # Runs Board meetings already: only Clubs is left.
    assert [s["use_case"] for s in account_suggestions(education["neutral_board"], D)] == ["Clubs"]


def test_account_is_not_its_own_peer(education):
    # A healthy account running Clubs: its peers are the 9 others, 2 of whom run Clubs (22%) → no Clubs.
    runner = next(a for a in education["vertical"].accounts.filter(churned_on__isnull=True, arr=1009))
    assert "Clubs" not in [s["use_case"] for s in account_suggestions(runner, D)]
    plain = next(a for a in education["vertical"].accounts.filter(arr=1006))  # healthy, PTA only
    # Its 9 peers: 6 run Board (67%), 3 run Clubs (33%).
    assert [(s["use_case"], s["share"]) for s in account_suggestions(plain, D)] == [
        ("Board meetings", 67),
        ("Clubs", 33),
    ]


def test_churned_account_gets_no_suggestions(education):
    churned = education["vertical"].accounts.filter(churned_on__isnull=False).first()
    assert account_suggestions(churned, D) == []


def test_suggestions_read_the_days_rollup(education):
    # The healthy peers per use case and the vertical's totals for "missing" come from the day's
    # VerticalDay row (an account is still not its own peer, churned accounts still do not count).

    VerticalDay.objects.filter(vertical=education["vertical"], day=D).update(accounts=F("accounts") + 100)
    board = next(s for s in vertical_suggestions(education["vertical"], D) if s["use_case"] == "Board meetings")
    assert board["missing_count"] == 107
    # It is the rollup that is read: emptied, no healthy peers are left.
    VerticalDay.objects.filter(vertical=education["vertical"], day=D).update(healthy=0, use_cases={})
    assert vertical_suggestions(education["vertical"], D) == []
    assert account_suggestions(education["at_risk"][0], D) == []


def test_a_day_without_its_rollup_suggests_nothing(education, client_for, csm):
    assert account_suggestions(education["at_risk"][0], D) != []
    VerticalDay.objects.all().delete()
    assert vertical_suggestions(education["vertical"], D) == []
    assert account_suggestions(education["at_risk"][0], D) == []  # nothing counted live
    assert client_for(csm).get(f"/verticals/{education['vertical'].slug}/").status_code == 200
