"""The role homes and /risk/: permissions, the numbers shown, bad filters, CSV and query counts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.test.utils import CaptureQueriesContext as Capture

from dashboards.views import leaders as views
from health.services import health_scores_mark_slipping
from tests.factories import (
    AccountFactory,
    FeatureFactory,
    HealthScoreFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    StatedDriverFactory,
    UserFactory,
    VerticalFactory,
    usage,
    write_rollups,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)
SCORES = {"healthy": 80, "neutral": 55, "at_risk": 20}


def scored(account, band, day=D, score=None):
    return HealthScoreFactory(account=account, as_of=day, score=SCORES[band] if score is None else score, band=band)


def book(owner, *, rows=1):
    """Per row: an at-risk account, a slipping one (80 → 60), a stable healthy one, a healthy one
    that dropped to neutral in the last 7 days, and a churned one."""
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    made = []
    for _ in range(rows):
        at_risk = AccountFactory(vertical=edu, owner=owner, arr=30000, renewal_date=D + dt.timedelta(days=45))
        scored(at_risk, "at_risk")
        scored(at_risk, "neutral", D - dt.timedelta(days=7))
        slipping = AccountFactory(vertical=tech, owner=owner, arr=90000)
        scored(slipping, "neutral", score=60)
        scored(slipping, "healthy", D - dt.timedelta(days=30), score=80)
        steady = AccountFactory(vertical=tech, owner=owner, arr=50000)
        scored(steady, "healthy")
        scored(steady, "healthy", D - dt.timedelta(days=30), score=90)  # down 10: not slipping
        dropped = AccountFactory(vertical=tech, owner=owner, arr=20000)
        scored(dropped, "neutral")
        scored(dropped, "healthy", D - dt.timedelta(days=7))
        AccountFactory(vertical=edu, owner=owner, arr=700000, churned_on=D - dt.timedelta(days=3))
        made.append({"at_risk": at_risk, "slipping": slipping, "steady": steady, "dropped": dropped})
    health_scores_mark_slipping(day=D)  # as the recompute's publish step does for the day
    write_rollups()  # as publish does after the day's results
    return made


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/risk/", "/risk/?format=csv"])
def test_anonymous_goes_to_login(client, path):
    assert client.get(path)["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["csm", "leader", "cs_admin"])
def test_every_role_sees_home_and_risk(request, client_for, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/").status_code == 200
    assert client.get("/risk/").status_code == 200
    assert client.get("/risk/?format=csv").status_code == 200


# --- CSM home ------------------------------------------------------------------------------------


def test_csm_home_shows_my_book(client_for, csm):
    made = book(csm)[0]
    other = UserFactory(username="other", roles=["CSM"])
    scored(AccountFactory(vertical=VerticalFactory(name="Education"), owner=other, arr=1), "at_risk")
    body = client_for(csm).get("/").content.decode()
    assert 'id="book-chart"' in body and "/static/vendor/plotly.min.js" in body
    # Tech Sales (3 accounts, $160,000) before Education (1 active account, $30,000; churned left out).
    table = body[body.index('id="book"') :]
    assert table.index("Tech Sales") < table.index("Education")
    assert "$160,000" in body and "$30,000" in body and "$700,000" not in body
    at_risk = body[body.index('id="my-at-risk"') : body.index('id="band-drops"')]
    assert made["at_risk"].name in at_risk and ">45<" in at_risk and made["slipping"].name not in at_risk
    drops = body[body.index('id="band-drops"') : body.index('id="say-vs-do"')]
    assert made["dropped"].name in drops and made["at_risk"].name in drops  # healthy→neutral, neutral→at risk
    assert made["steady"].name not in drops and made["slipping"].name not in drops  # slipping: 30 days, not 7


def test_csm_home_say_vs_do_flags_drivers_without_usage(client_for, csm):
    made = book(csm)[0]
    used, unused = FeatureFactory(key="reminders"), FeatureFactory(key="video_rooms")
    StatedDriverFactory(account=made["steady"], feature=used, note="loves reminders")
    StatedDriverFactory(account=made["steady"], feature=unused, note="video is key")
    usage(made["steady"], used, D - dt.timedelta(days=10), events=4)
    usage(made["steady"], unused, D - dt.timedelta(days=120), events=9)  # outside the 90 days
    body = client_for(csm).get("/").content.decode()
    say = body[body.index('id="say-vs-do"') :]
    assert "Video Rooms" in say and "video is key" in say
    assert "Reminders" not in say


def test_csm_home_without_results(client_for, csm):
    body = client_for(csm).get("/").content.decode()
    assert "No health results yet" in body and "No active accounts are assigned to you." in body


# --- leader home ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["leader", "cs_admin"])
def test_leader_home_summarises_revenue_and_risk(request, client_for, csm, who):
    book(csm)
    body = client_for(request.getfixturevalue(who)).get("/").content.decode()
    assert 'id="total-arr">$190,000<' in body
    assert 'id="arr-at-risk" style="color:var(--at_risk)">$30,000<' in body
    assert "Tech Sales" in body and "84.2%" in body  # 160,000 of 190,000
    assert "2 accounts</strong>" in body and "1 at risk, 1 slipping" in body
    assert "accounts are 40% of ARR" in body and 'href="/revenue/"' in body and 'href="/risk/"' in body
    assert 'id="book-chart"' not in body


# --- /risk/ --------------------------------------------------------------------------------------


def test_risk_lists_at_risk_and_slipping_by_arr(client_for, leader, csm):
    made = book(csm)[0]
    body = client_for(leader).get("/risk/").content.decode()
    table = body[body.index('id="risk-list"') :]
    assert table.index(made["slipping"].name) < table.index(made["at_risk"].name)  # ARR desc
    assert made["steady"].name not in table and made["dropped"].name not in table
    assert 'id="risk-arr" style="color:var(--at_risk)">$120,000<' in body
    assert "(−20)" in table  # 80 → 60


def test_risk_filters_and_htmx_partial(client_for, csm):
    made = book(csm)[0]
    other = UserFactory(username="other", roles=["CSM"])
    theirs = AccountFactory(vertical=VerticalFactory(name="Education"), owner=other, arr=5000)
    scored(theirs, "at_risk")
    client = client_for(csm)
    body = client.get("/risk/?vertical=education").content.decode()
    assert made["at_risk"].name in body and theirs.name in body and made["slipping"].name not in body
    body = client.get(f"/risk/?owner={other.pk}").content.decode()
    assert theirs.name in body and made["at_risk"].name not in body
    segment = SegmentFactory(name="Strategic", rule={})
    SegmentMembershipFactory(segment=segment, account=made["slipping"], entered_on=D - dt.timedelta(days=5))
    body = client.get("/risk/?segment=strategic").content.decode()
    assert made["slipping"].name in body and made["at_risk"].name not in body
    partial = client.get("/risk/?vertical=education", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'id="risk-list"' in partial and theirs.name in partial


def test_risk_bad_filters_get_a_message_not_a_500(client_for, csm):
    book(csm)
    response = client_for(csm).get("/risk/?vertical=nope&owner=abc&segment=%00&page=-1")
    body = response.content.decode()
    assert response.status_code == 200
    assert "vertical: Select a valid choice" in body and "owner: Select a valid choice" in body
    assert "page: Ensure this value is greater than or equal to 1." in body
    assert 'id="risk-arr" style="color:var(--at_risk)">$120,000<' in body  # the bad filters are dropped


def test_risk_paging(client_for, csm, monkeypatch):
    monkeypatch.setattr(views, "RISK_PAGE_SIZE", 2)
    book(csm, rows=3)  # 6 rows
    client = client_for(csm)
    assert "Page 1 of 3" in client.get("/risk/").content.decode()
    page3 = client.get("/risk/?page=3").content.decode()
    assert "Page 3 of 3" in page3 and "Next →" not in page3
    assert "Page 3 of 3" in client.get("/risk/?page=99").content.decode()


def test_risk_csv_is_the_filtered_list(client_for, csm):
    made = book(csm)[0]
    response = client_for(csm).get("/risk/?vertical=tech-sales&format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="accounts-at-risk.csv"'
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == (
        "external_id,name,vertical,owner,arr,health_band,score,score_30_days_before,renewal_date,days_to_renewal"
    )
    assert lines[1:] == [
        f"{made['slipping'].external_id},{made['slipping'].name},Tech Sales,csm@example.com,90000.00,neutral,60,80,2027-01-01,185"
    ]


@pytest.mark.parametrize(
    ("path", "who"), [("/", "csm"), ("/", "leader"), ("/risk/", "csm"), ("/risk/?format=csv", "csm")]
)
def test_query_count_does_not_grow_with_accounts(request, client_for, csm, path, who):
    book(csm, rows=2)
    StatedDriverFactory(account=csm.owned_accounts.first(), feature=FeatureFactory(), note="x")
    client = client_for(request.getfixturevalue(who))
    client.get(path)
    with Capture(connection) as small:
        client.get(path)
    book(csm, rows=8)
    for account in csm.owned_accounts.all()[:6]:
        StatedDriverFactory(account=account, feature=FeatureFactory(), note="y")
    with CaptureQueriesContext(connection) as large:
        client.get(path)
    assert len(large) == len(small)


def test_query_counts_are_pinned(client_for, csm, leader, django_assert_num_queries):
    book(csm, rows=3)
    as_csm, as_leader = client_for(csm), client_for(leader)
    # session + user + groups, latest date, the book, at risk, drops, overdue renewals, say vs do, my tasks.
    with django_assert_num_queries(10):
        as_csm.get("/")
    # + revenue by vertical (the day's VerticalDay rollup), concentration, risk totals; minus the CSM
    # blocks; + the trend against 30/90 days (the rollup's days, then their totals), renewals by band,
    # where to look first, retention (the day's RevenueDay).
    with django_assert_num_queries(12):
        as_leader.get("/")
    # + filter choices (verticals, owners, segments), totals, the page.
    with django_assert_num_queries(9):
        as_csm.get("/risk/")


def test_arr_total_is_decimal_exact(client_for, csm):
    a = AccountFactory(owner=csm, arr=Decimal("1234.56"))
    scored(a, "at_risk")
    body = client_for(csm).get("/risk/").content.decode()
    assert ">$1,235<" in body
