"""The API permission matrix — every endpoint × anonymous, CSM, leader, admin, ingest token — and
list query counts that do not grow with the page size."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from accounts.models import NpsResponse, UsageDaily
from dashboards.models import VerticalDay
from people.models import ApiToken
from people.services import api_token_create
from pipeline.models import RecomputeRun
from plays.models import PlayFiring, Task
from tests.factories import (
    AccountFactory,
    FeatureFactory,
    HealthScoreFactory,
    NoteFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    StatedDriverFactory,
    TaskFactory,
    UsageFactory,
    UserFactory,
    VerticalFactory,
    play_apply,
    write_rollups,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


@pytest.fixture
def world(cs_admin):
    vertical = VerticalFactory(name="Education")
    feature = FeatureFactory(key="scheduling")
    accounts = [AccountFactory(vertical=vertical, arr=1000 * (i + 1)) for i in range(4)]
    segment = SegmentFactory(name="All", rule={"field": "arr", "op": "gte", "value": 0})
    for a in accounts:
        HealthScoreFactory(account=a, as_of=D, score=50, band="neutral")
        SegmentMembershipFactory(segment=segment, account=a, entered_on=D)
        StatedDriverFactory(account=a, feature=feature, note="says so", recorded_by=cs_admin)
        UsageFactory(account=a, feature=feature, date=D)
    RecomputeRun.objects.create(as_of=D, status="succeeded", active_lock=None)
    write_rollups()  # as publish does after the day's results
    play = play_apply("Drop", {"type": "score_dropped", "points": 10})
    for a in accounts:
        task = TaskFactory(account=a, play=play, title="Call", assignee=cs_admin, due_date=D)
        PlayFiring.objects.create(play=play, account=a, day=D, why="score fell", task=task)
        NoteFactory(account=a, kind="call", date=D, text="hi", author=cs_admin)
    return {"account": accounts[0], "segment": segment, "vertical": vertical, "feature": feature}


READ_ONLY = [
    "accounts",
    "account",
    "account-health",
    "account-drivers",
    "verticals",
    "vertical",
    "vertical-summary",
    "use-cases",
    "features",
    "tiers",
    "segments",
    "segment",
    "segment-members",
    "scorecards",
    "journeys",
    "config",
    "recompute-runs",
    "recompute-run",
    "tasks",
    "task",
    "notes",
    "firings",
    "plays",
    "play",
]


def url(name, w):
    a, s, v = w["account"].pk, w["segment"].slug, w["vertical"].slug
    run = RecomputeRun.objects.first().pk
    return {
        "accounts": "/api/v1/accounts/",
        "account": f"/api/v1/accounts/{a}/",
        "account-health": f"/api/v1/accounts/{a}/health/",
        "account-drivers": f"/api/v1/accounts/{a}/drivers/",
        "verticals": "/api/v1/verticals/",
        "vertical": f"/api/v1/verticals/{v}/",
        "vertical-summary": f"/api/v1/verticals/{v}/summary/",
        "use-cases": "/api/v1/use-cases/",
        "features": "/api/v1/features/",
        "tiers": "/api/v1/tiers/",
        "segments": "/api/v1/segments/",
        "segment": f"/api/v1/segments/{s}/",
        "segment-members": f"/api/v1/segments/{s}/members/",
        "scorecards": "/api/v1/scorecards/",
        "journeys": "/api/v1/journeys/",
        "config": "/api/v1/config/",
        "recompute-runs": "/api/v1/recompute/",
        "recompute-run": f"/api/v1/recompute/{run}/",
        "revenue": "/api/v1/reports/revenue/",
        "tasks": "/api/v1/tasks/",
        "task": f"/api/v1/tasks/{Task.objects.first().pk}/",
        "notes": "/api/v1/notes/",
        "firings": "/api/v1/firings/",
        "plays": "/api/v1/plays/",
        "play": f"/api/v1/plays/{PlayFiring.objects.first().play_id}/",
    }[name]


def client_as(who, request):
    cache.clear()  # throttle counters
    client = APIClient()
    if who == "anonymous":
        return client
    if who in ("ingest-token", "no-role-ingest-token", "no-role-token"):
        # A no-role token: its user was offboarded (groups removed) after the token was made.
        user = UserFactory(username=f"{who}-owner", roles=[] if who.startswith("no-role") else ["CSM"])
        scope = ApiToken.SCOPE_READ if who == "no-role-token" else ApiToken.SCOPE_INGEST
        _, key = api_token_create(user=user, name="pipeline", scope=scope)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client
    client.force_authenticate(request.getfixturevalue(who))
    return client


NO_ROLE = {"no_role": 403, "no-role-token": 403, "no-role-ingest-token": 403}
EXPECTED_READ = {"anonymous": 401, "csm": 200, "leader": 200, "cs_admin": 200, "ingest-token": 200, **NO_ROLE}
EXPECTED_REVENUE = {"anonymous": 401, "csm": 403, "leader": 200, "cs_admin": 200, "ingest-token": 403, **NO_ROLE}


@pytest.mark.parametrize("who", list(EXPECTED_READ))
def test_reads(world, request, who):
    client = client_as(who, request)
    for name in READ_ONLY:
        assert client.get(url(name, world)).status_code == EXPECTED_READ[who], name
    assert client.get(url("revenue", world)).status_code == EXPECTED_REVENUE[who]


WRITES = [
    ("post", "/api/v1/verticals/", {"name": "Retail"}, 201),
    ("post", "/api/v1/features/", {"key": "video", "name": "Video"}, 201),
    ("post", "/api/v1/tiers/", {"name": "Tier X", "min_arr": "5"}, 201),
    ("post", "/api/v1/segments/", {"name": "New", "rule": {"field": "arr", "op": "gt", "value": 1}}, 201),
    ("post", "/api/v1/scorecards/", {"name": "Any", "measures": [{"metric": "events_30d", "red": 0, "green": 9}]}, 201),
    ("post", "/api/v1/config/?dry_run=true", {"version": 1}, 200),
    (
        "post",
        "/api/v1/plays/",
        {
            "name": "Renewal",
            "trigger": {"type": "renewal_within", "days": 30},
            "task": {"title": "Renewal of {account.name}"},
        },
        201,
    ),
    ("post", "/api/v1/accounts/bulk/", [{"external_id": "Z1", "name": "Z", "vertical": "Retail", "arr": "1"}], 201),
]
EXPECTED_WRITE = {"anonymous": 401, "csm": 403, "leader": 403, "ingest-token": 403, **NO_ROLE}


@pytest.mark.parametrize("who", [*EXPECTED_WRITE, "cs_admin"])
def test_rule_writes_are_for_admins(world, request, who):
    client = client_as(who, request)
    for method, path, body, ok in WRITES:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == (ok if who == "cs_admin" else EXPECTED_WRITE[who]), path
        assert "errors" in response.json() or who == "cs_admin"


EXPECTED_INGEST = {"anonymous": 401, "csm": 403, "leader": 403, "cs_admin": 201, "ingest-token": 201, **NO_ROLE}


@pytest.mark.parametrize("who", list(EXPECTED_INGEST))
def test_ingestion(world, request, who):
    client = client_as(who, request)
    ext = world["account"].external_id
    usage = [{"account_external_id": ext, "date": "2026-06-01", "feature": "scheduling", "events": 1}]
    nps = [{"account_external_id": ext, "date": "2026-06-01", "score": 7}]
    before = UsageDaily.objects.count(), NpsResponse.objects.count()
    assert client.post("/api/v1/usage/", usage, format="json").status_code == EXPECTED_INGEST[who]
    assert client.post("/api/v1/nps/", nps, format="json").status_code == EXPECTED_INGEST[who]
    if EXPECTED_INGEST[who] != 201:
        assert (UsageDaily.objects.count(), NpsResponse.objects.count()) == before


EXPECTED_DRIVER = {"anonymous": 401, "csm": 201, "leader": 403, "cs_admin": 201, **NO_ROLE}


@pytest.mark.parametrize("who", list(EXPECTED_DRIVER))
def test_recording_a_stated_driver(world, request, who):
    client = client_as(who, request)
    response = client.post(
        url("account-drivers", world), {"feature": "scheduling", "note": "VP says so"}, format="json"
    )
    assert response.status_code == EXPECTED_DRIVER[who]


def test_drivers_say_vs_do(world, csm):
    FeatureFactory(key="analytics")
    client = APIClient()
    client.force_authenticate(csm)
    path = url("account-drivers", world)
    client.post(path, {"feature": "analytics", "note": "they say dashboards matter"}, format="json")
    rows = client.get(path).json()["results"]
    by_feature = {r["feature"]: r for r in rows}
    assert by_feature["analytics"]["used_90d"] is False and by_feature["analytics"]["events_90d"] == 0
    assert by_feature["scheduling"]["used_90d"] is True


def test_revenue_report_figures(world, leader):
    client = APIClient()
    client.force_authenticate(leader)
    report = client.get("/api/v1/reports/revenue/").json()
    (edu,) = report["verticals"]
    assert edu["accounts"] == 4 and edu["arr"] == "10000.00" and edu["share_of_arr"] == 100.0
    assert edu["average_arr"] == 2500.0 and edu["health_mix"]["neutral"] == 4 and report["as_of"] == "2026-06-30"
    assert client.get(url("vertical-summary", world)).json() == edu


LISTS = [
    "accounts",
    "account-health",
    "account-drivers",
    "verticals",
    "use-cases",
    "features",
    "tiers",
    "segments",
    "segment-members",
    "scorecards",
    "journeys",
    "recompute-runs",
    "tasks",
    "notes",
    "firings",
    "plays",
]


@pytest.mark.parametrize("name", LISTS)
def test_list_query_count_does_not_depend_on_page_size(world, leader, name):
    client = APIClient()
    client.force_authenticate(leader)
    path = url(name, world)
    client.get(path)  # roles are looked up once per user
    with CaptureQueriesContext(connection) as one:
        assert client.get(path, {"page_size": 1}).status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert client.get(path, {"page_size": 100}).status_code == 200
    assert len(one) == len(many), name


def test_throttling_per_token(world, settings, csm):
    rates = api_settings.DEFAULT_THROTTLE_RATES
    old = rates["token"]
    rates["token"] = "3/min"
    try:
        cache.clear()
        _, key = api_token_create(user=csm, name="a")
        _, other = api_token_create(user=csm, name="b")
        a, b = APIClient(), APIClient()
        a.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        b.credentials(HTTP_AUTHORIZATION=f"Bearer {other}")
        codes = [a.get("/api/v1/tiers/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert a.get("/api/v1/tiers/").json()["errors"][0]["message"].startswith("Request was throttled")
        assert b.get("/api/v1/tiers/").status_code == 200  # each token has its own budget
    finally:
        rates["token"] = old


def test_revenue_report_and_summary_read_the_rollup(world, leader):
    VerticalDay.objects.filter(day=D).update(accounts=5, arr=Decimal("12345.00"), at_risk=2)
    client = APIClient()
    client.force_authenticate(leader)
    report = client.get("/api/v1/reports/revenue/").json()
    assert report["total_arr"] == "12345.00" and report["verticals"][0]["accounts"] == 5
    summary = client.get(url("vertical-summary", world)).json()
    assert summary["arr"] == "12345.00" and summary["health_mix"]["at_risk"] == 2
    VerticalDay.objects.all().delete()  # a day without its rollup: empty figures, no live computation
    report = client.get("/api/v1/reports/revenue/").json()
    assert report == {"as_of": "2026-06-30", "total_arr": "0.00", "arr_at_risk": "0.00", "verticals": []}
    assert client.get(url("vertical-summary", world)).json()["accounts"] == 0
    assert client.get("/api/v1/verticals/nope/summary/").status_code == 404


EXPECTED_TEAM_WRITE = {"anonymous": 401, "csm": 201, "leader": 201, "cs_admin": 201, "ingest-token": 201}


@pytest.mark.parametrize("who", list(EXPECTED_TEAM_WRITE))
def test_tasks_and_notes_are_written_by_the_team(world, request, who):
    client = client_as(who, request)
    ext = world["account"].external_id
    task = client.post("/api/v1/tasks/", {"account": ext, "title": "Send the deck"}, format="json")
    note = client.post("/api/v1/notes/", {"account": ext, "kind": "call", "text": "Spoke to the VP"}, format="json")
    assert (task.status_code, note.status_code) == (EXPECTED_TEAM_WRITE[who], EXPECTED_TEAM_WRITE[who])


EXPECTED_TASK_PATCH = {"anonymous": 401, "csm": 403, "leader": 200, "cs_admin": 200}


@pytest.mark.parametrize("who", list(EXPECTED_TASK_PATCH))
def test_patching_a_task(world, request, who):
    client = client_as(who, request)
    task = Task.objects.first()  # assigned to the admin, on an account no CSM owns
    response = client.patch(f"/api/v1/tasks/{task.pk}/", {"status": "done"}, format="json")
    assert response.status_code == EXPECTED_TASK_PATCH[who]


def test_no_role_gets_403_on_plays_endpoints(world):
    client = APIClient()
    client.force_authenticate(UserFactory(username="norole"))
    for path in ("/api/v1/tasks/", "/api/v1/notes/", "/api/v1/firings/", "/api/v1/plays/"):
        assert client.get(path).status_code == 403, path
