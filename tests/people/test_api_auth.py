"""REST API: permissions per role and token scope, one error format, ingestion all-or-nothing."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Account, NpsResponse, UsageDaily
from people.models import ApiToken
from people.services import api_token_create
from tests.factories import AccountFactory, HealthScoreFactory, UseCaseFactory, VerticalFactory

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def api(user=None, token=None):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    elif user:
        client.force_authenticate(user)
    return client


@pytest.fixture
def ingest_token(csm):
    return api_token_create(user=csm, name="pipeline", scope=ApiToken.SCOPE_INGEST)[1]


@pytest.fixture
def read_token(csm):
    return api_token_create(user=csm, name="crm", scope=ApiToken.SCOPE_READ)[1]


READS = ["/api/v1/accounts/", "/api/v1/verticals/", "/api/v1/use-cases/", "/api/v1/features/", "/api/v1/tiers/"]


@pytest.mark.parametrize("url", READS)
def test_anonymous_gets_401_in_the_error_format(url):
    response = APIClient().get(url)
    assert response.status_code in (401, 403)
    assert response.json()["errors"][0]["path"] == ""


@pytest.mark.parametrize("url", READS)
@pytest.mark.parametrize("who", ["csm", "leader", "cs_admin"])
def test_every_role_reads(request, url, who):
    assert api(request.getfixturevalue(who)).get(url).status_code == 200


@pytest.mark.parametrize("who", ["csm", "leader"])
def test_only_admins_write_reference_data(request, who, cs_admin):
    assert api(request.getfixturevalue(who)).post("/api/v1/verticals/", {"name": "Retail"}).status_code == 403
    response = api(cs_admin).post("/api/v1/verticals/", {"name": "Retail"}, format="json")
    assert response.status_code == 201 and response.json()["slug"] == "retail"


def test_deleting_a_vertical_in_use_is_a_409_naming_the_users(cs_admin):
    account = AccountFactory(vertical=VerticalFactory(name="Retail"))
    response = api(cs_admin).delete("/api/v1/verticals/retail/")
    assert response.status_code == 409
    assert account.name in response.json()["errors"][0]["message"]


USAGE = [
    {"account_external_id": "A1", "date": "2026-06-01", "feature": "scheduling", "events": 3, "active_users": 2},
    {"account_external_id": "A1", "date": "2026-06-02", "feature": "Video Rooms", "events": 1},
]


@pytest.fixture
def a1():
    return AccountFactory(external_id="A1")


def test_usage_ingestion_with_an_ingest_token(a1, ingest_token):
    response = api(token=ingest_token).post("/api/v1/usage/", USAGE, format="json")
    assert response.status_code == 201 and response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    again = api(token=ingest_token).post("/api/v1/usage/", USAGE[:1], format="json")
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 1}  # the same values again
    changed = api(token=ingest_token).post("/api/v1/usage/", [{**USAGE[0], "events": 99}], format="json")
    assert changed.json() == {"created": 0, "updated": 1, "unchanged": 0}
    assert UsageDaily.objects.count() == 2


def test_usage_ingestion_as_csv_body(a1, ingest_token):
    body = "account_external_id,date,feature,events,active_users\nA1,2026-06-01,scheduling,3,2\nA1,2026-06-40,x,1,1\n"
    response = api(token=ingest_token).post("/api/v1/usage/", body, content_type="text/csv")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"path": "line 3.date", "message": "'2026-06-40' is not a date in YYYY-MM-DD form"}]
    }


def test_usage_ingestion_is_all_or_nothing_naming_every_bad_row(a1, ingest_token):
    rows = [
        *USAGE,
        {"account_external_id": "NOPE", "date": "2026-06-01", "feature": "x", "events": 1},
        {"account_external_id": "A1", "date": "2026-06-01", "feature": "x", "events": -2},
    ]
    response = api(token=ingest_token).post("/api/v1/usage/", rows, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "[2].account_external_id", "message": "unknown account 'NOPE'"},
        {"path": "[3].events", "message": "-2 is negative; expected a number ≥ 0"},
    ]
    assert UsageDaily.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"rows": []}, "expected a JSON list of rows"),
        ([], "no rows"),
        ([{"account_external_id": "A1", "day": "x"}], "unknown field"),
        (
            [{"account_external_id": False, "date": "2026-06-01", "feature": "x", "events": 1}],
            "expected text, a number or null",
        ),
    ],
)
def test_usage_payload_shape_errors(a1, ingest_token, payload, message):
    response = api(token=ingest_token).post("/api/v1/usage/", payload, format="json")
    assert response.status_code == 400 and message in response.json()["errors"][0]["message"]


def test_ingestion_needs_the_ingest_scope(a1, read_token, leader, csm, cs_admin):
    assert api(token=read_token).post("/api/v1/usage/", USAGE, format="json").status_code == 403
    assert api(leader).post("/api/v1/usage/", USAGE, format="json").status_code == 403
    assert api(csm).post("/api/v1/usage/", USAGE, format="json").status_code == 403
    assert api(cs_admin).post("/api/v1/usage/", USAGE, format="json").status_code == 201
    assert APIClient().post("/api/v1/usage/", USAGE, format="json").status_code in (401, 403)


def test_nps_ingestion(a1, ingest_token):
    rows = [
        {"account_external_id": "A1", "date": "2026-06-01", "score": 9, "comment": "great"},
        {"account_external_id": "A1", "date": "2026-06-02", "score": 11},
    ]
    response = api(token=ingest_token).post("/api/v1/nps/", rows, format="json")
    assert response.json() == {"errors": [{"path": "[1].score", "message": "11 is above 10"}]}
    response = api(token=ingest_token).post("/api/v1/nps/", rows[:1], format="json")
    assert response.status_code == 201 and NpsResponse.objects.get().comment == "great"


def test_bulk_upsert_of_accounts_by_external_id(cs_admin, csm):
    rows = [
        {"external_id": "N1", "name": "New One", "vertical": "Education", "use_cases": "PTA meetings", "arr": "1200"},
        {"external_id": "N2", "name": "Bad", "vertical": "Education", "arr": "-1", "persona": "ceo"},
    ]
    assert api(csm).post("/api/v1/accounts/bulk/", rows, format="json").status_code == 403
    response = api(cs_admin).post("/api/v1/accounts/bulk/", rows, format="json")
    assert response.status_code == 400
    assert {e["path"] for e in response.json()["errors"]} == {"[1].arr", "[1].persona"}
    assert not Account.objects.exists()
    assert api(cs_admin).post("/api/v1/accounts/bulk/", rows[:1], format="json").json() == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
    }
    assert api(cs_admin).post("/api/v1/accounts/bulk/", rows[:1], format="json").json() == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
    }
    rows[0]["arr"] = "1500"
    assert api(cs_admin).post("/api/v1/accounts/bulk/", rows[:1], format="json").json() == {
        "created": 0,
        "updated": 1,
        "unchanged": 0,
    }
    assert Account.objects.get().arr == 1500


@pytest.fixture
def scored():
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    pta = UseCaseFactory(name="PTA meetings")
    accounts = []
    for i in range(6):
        a = AccountFactory(vertical=edu if i % 2 else tech, primary_use_case=pta, arr=1000 * (i + 1))
        HealthScoreFactory(account=a, as_of=D, score=20 * i, band="at_risk" if i < 2 else "healthy")
        accounts.append(a)
    return accounts


def test_account_list_filters_and_latest_health(scored, leader):
    client = api(leader)
    body = client.get("/api/v1/accounts/", {"vertical": "education", "band": "healthy", "ordering": "-arr"}).json()
    assert [a["arr"] for a in body["results"]] == ["6000.00", "4000.00"]
    assert body["results"][0]["health"] == {
        "as_of": "2026-06-30",
        "score": 100,
        "band": "healthy",
        "scorecard": None,
        "tier": None,
        "touch_model": "",
    }
    assert client.get("/api/v1/accounts/", {"score_max": 20}).json()["count"] == 2
    assert client.get("/api/v1/accounts/", {"use_case": "pta meetings"}).json()["count"] == 6
    bad = client.get("/api/v1/accounts/", {"band": "sad"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "band"


def test_account_detail_and_health_history(scored, csm):
    account = scored[3]
    detail = api(csm).get(f"/api/v1/accounts/{account.pk}/").json()
    assert detail["health"]["measures"] == [] and detail["use_cases"] == ["PTA meetings"]
    history = api(csm).get(f"/api/v1/accounts/{account.pk}/health/").json()
    assert [h["as_of"] for h in history["results"]] == ["2026-06-30"]
    assert api(csm).get("/api/v1/accounts/999999/").json() == {"errors": [{"path": "", "message": "Not found."}]}


def test_account_list_query_count_does_not_depend_on_page_size(scored, leader):
    client = api(leader)
    client.get("/api/v1/accounts/")  # the user's roles are looked up once, then cached on it
    with CaptureQueriesContext(connection) as two:
        assert len(client.get("/api/v1/accounts/", {"page_size": 2}).json()["results"]) == 2
    with CaptureQueriesContext(connection) as six:
        assert len(client.get("/api/v1/accounts/", {"page_size": 6}).json()["results"]) == 6
    assert len(two) == len(six)


def test_more_than_50000_rows_in_one_request_is_refused(a1, ingest_token):
    rows = [{"account_external_id": "A1", "date": "2026-06-01", "feature": "x", "events": 1}] * 50_001
    response = api(token=ingest_token).post("/api/v1/usage/", rows, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"path": "", "message": "50,001 rows: at most 50,000 a request"}]


def test_create_and_update_one_account(cs_admin, csm):
    body = {"external_id": "S1", "name": "Solo", "vertical": "Healthcare", "use_cases": "Telehealth;Rota", "arr": "900"}
    assert api(csm).post("/api/v1/accounts/", body, format="json").status_code == 403
    created = api(cs_admin).post("/api/v1/accounts/", body, format="json")
    assert created.status_code == 201
    assert created.json()["primary_use_case"] == "Telehealth" and created.json()["use_cases"] == ["Rota", "Telehealth"]
    pk = created.json()["id"]
    bad = api(cs_admin).patch(f"/api/v1/accounts/{pk}/", {"arr": "-3", "seats": "many"}, format="json")
    assert bad.status_code == 400
    assert {e["path"] for e in bad.json()["errors"]} == {"arr", "seats"}
    updated = api(cs_admin).patch(f"/api/v1/accounts/{pk}/", {"arr": "1500"}, format="json")
    assert updated.status_code == 200 and updated.json()["arr"] == "1500.00"
    account = Account.objects.get(pk=pk)
    assert account.primary_use_case.name == "Telehealth"  # untouched fields kept
    # Both writes happened today: today's ARR entry is corrected, as a second import would.
    assert list(account.arr_history.values_list("previous_arr", "arr")) == [(None, 1500)]
    renamed = api(cs_admin).patch(f"/api/v1/accounts/{pk}/", {"external_id": "S2"}, format="json")
    assert renamed.status_code == 400 and renamed.json()["errors"][0]["path"] == "external_id"
