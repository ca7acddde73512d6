"""/backtest/, its CSVs, GET /api/v1/reports/backtest/ and the tuning flow, for each role."""

import csv
import datetime as dt
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import UsageDaily
from configuration.models import AuditEntry
from health.models import Measure, Scorecard
from tests.dashboards.test_backtest import (
    D1,
    D2,
    LATEST,
    day,
    history,  # noqa: F401  (the hand-computed history)
    scorecard,
)
from tests.factories import AccountFactory, FeatureFactory, MeasureFactory, UserFactory, VerticalFactory

URL, API = "/backtest/", "/api/v1/reports/backtest/"


@pytest.fixture
def nobody(db):
    return UserFactory(username="nobody")


def test_leader_sees_the_report_in_plain_words(client_for, leader, history):  # noqa: F811
    response = client_for(leader).get(URL, {"compare": "Everyone"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="backtest-chart"' in html and "data-figure" in html
    assert "Accounts Education&#x27;s scorecard calls at risk churned 2.0× as often as healthy ones" in html
    assert "None of the accounts Tech&#x27;s scorecard calls healthy churned" in html
    assert (
        "Education: &#x27;Everyone&#x27; predicts better (AUC 0.62 with its own vs 1.00 with &#x27;Everyone&#x27;)"
        in html
    )
    assert "Tune from history" not in html  # admins only
    assert ">Backtest</a>" in html


def test_admin_sees_tuning_links(client_for, cs_admin, history):  # noqa: F811
    html = client_for(cs_admin).get(URL).content.decode()
    assert "Tune from history" in html


@pytest.mark.parametrize("table", ["scorecards", "verticals", "compare"])
def test_csv_of_each_table(client_for, leader, history, table):  # noqa: F811
    response = client_for(leader).get(URL, {"compare": "Everyone", "format": "csv", "table": table})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    if table == "scorecards":
        assert rows[0][:4] == ["scorecard", "vertical", "use_case", "auc"]
        assert rows[1] == ["Education", "Education", "", "0.625", "2.0", "healthy", "4", "2", "0.5", "24000", "4000"]
    elif table == "compare":
        assert rows == [
            ["vertical", "own_auc", "compare_auc"],
            ["Education", "0.625", "1.0"],
            ["Tech Sales", "0.75", "0.5"],
        ]
    else:
        assert len(rows) == 1 + 2 * 3


def test_page_form_errors_are_messages_not_500(client_for, leader, history):  # noqa: F811
    response = client_for(leader).get(URL, {"horizon": "0", "from": "nope", "compare": "Nobody"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "horizon: must be a number of days greater than 0" in html
    assert "from: not a date in YYYY-MM-DD form" in html
    assert "compare: no scorecard is called &#x27;Nobody&#x27;" in html
    assert client_for(leader).get(URL, {"format": "csv", "table": "nope"}).status_code == 400


@pytest.mark.django_db
def test_page_without_history_says_so(client_for, leader):
    html = client_for(leader).get(URL).content.decode()
    assert "Not enough history" in html


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["csm", "nobody"])
def test_csm_and_users_without_a_role_get_403(client_for, who, request):
    user = request.getfixturevalue(who)
    assert client_for(user).get(URL).status_code == 403
    assert client_for(user).get(API).status_code == 403
    scorecard = Scorecard.objects.create(name="X")
    assert client_for(user).get(f"/backtest/tune/{scorecard.pk}/").status_code == 403


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_or_401():
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Client().get(API).status_code in (401, 403)


def test_leader_cannot_tune(client_for, leader, history):  # noqa: F811
    assert client_for(leader).get(f"/backtest/tune/{Scorecard.objects.get(name='Tech').pk}/").status_code == 403


def test_api_returns_the_command_json(client_for, leader, history):  # noqa: F811
    response = client_for(leader).get(API, {"compare": "Everyone"})
    assert response.status_code == 200
    out = StringIO()
    call_command("backtest", "--json", "--compare", "Everyone", stdout=out)
    assert response.json() == json.loads(out.getvalue())


@pytest.mark.django_db
def test_api_bad_params_are_400_with_paths(client_for, leader):
    response = client_for(leader).get(API, {"horizon": "-1", "step": "x", "from": "2026-02-01", "to": "2026-01-01"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {e["path"] for e in errors} == {"horizon", "step", "from"}
    assert client_for(leader).get(API, {"compare": "Nobody"}).json() == {
        "errors": [{"path": "compare", "message": "no scorecard is called 'Nobody'"}]
    }


@pytest.mark.django_db
def test_openapi_documents_the_report(client_for, leader):
    schema = client_for(leader).get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/reports/backtest/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "horizon", "step", "compare"}
    assert "400" in operation["responses"]


@pytest.mark.parametrize("accounts", [2, 12])
def test_page_query_count_does_not_grow(client_for, leader, django_assert_num_queries, accounts, db):
    vertical = VerticalFactory(name="Education")
    sc = scorecard("Education", vertical)
    for n in range(accounts):
        account = AccountFactory(vertical=vertical, churned_on=dt.date(2026, 3, 1) if n % 2 else None)
        for when in (D1, D2, LATEST):
            day(account, when, ("healthy", "at_risk")[n % 2], 80 - n, sc, n)
    client = client_for(leader)
    client.get(URL)  # warm the session and the user's roles
    with django_assert_num_queries(14):
        assert client.get(URL, {"compare": "Education"}).status_code == 200


# --- Tune from history, end to end ------------------------------------------------------------

LATEST_DAY = dt.date(2026, 6, 30)
OBSERVED = [
    dt.date(2026, 4, 21),
    dt.date(2026, 5, 5),
    dt.date(2026, 5, 19),
    dt.date(2026, 6, 2),
]  # on --history's weekly grid
PARAMS = {"step": "14", "horizon": "28"}


@pytest.fixture
def usage_history(db):
    """Ten accounts active every other day, ten every tenth day that churn 10 days after an observation date."""
    vertical = VerticalFactory(name="Education")
    sc = Scorecard.objects.create(name="Education", vertical=vertical)
    # Thresholds nobody reaches: every account scores 0, at risk — no signal.
    MeasureFactory(scorecard=sc, metric="active_days_30d", weight=1, red=25, green=30)
    feature = FeatureFactory(key="scheduling")
    rows = []
    for n in range(20):
        churner = n % 2 == 1
        churned_on = OBSERVED[(n // 2) % 4] + dt.timedelta(days=10) if churner else None
        account = AccountFactory(vertical=vertical, churned_on=churned_on)
        period = 10 if churner else 2
        for offset in range(0, 200, period):
            when = dt.date(2026, 1, 1) + dt.timedelta(days=offset + n % period)
            if when <= LATEST_DAY and (churned_on is None or when < churned_on):
                rows.append(UsageDaily(account=account, feature=feature, date=when, events=3, active_users=1))
    UsageDaily.objects.bulk_create(rows)
    for when in [*OBSERVED, LATEST_DAY]:
        call_command("recompute", "--as-of", when.isoformat(), stdout=StringIO())
    return sc


def test_tuning_flow_suggest_apply_recompute_backtest(client_for, cs_admin, usage_history):
    client = client_for(cs_admin)
    before = client.get(URL, PARAMS).content.decode()
    assert "AUC 0.50 ≈ 0.5" in before and "no signal" in before

    page = client.get(f"/backtest/tune/{usage_history.pk}/", PARAMS)
    assert page.status_code == 200
    suggestion = page.context["suggestion"]
    assert suggestion.learn_dates == OBSERVED[:2] and suggestion.judge_dates == OBSERVED[2:]
    (measure,) = suggestion.measures
    assert measure["red"] < measure["green"] and measure["changed"]  # learned: churners ~3 active days, others ~15
    assert suggestion.today["auc"] == 0.5 and suggestion.suggested["auc"] == 1.0
    assert "older half" in page.content.decode()

    response = client.post(
        f"/backtest/tune/{usage_history.pk}/", {**PARAMS, "red_0": measure["red"], "green_0": measure["green"]}
    )
    assert response.status_code == 302
    saved = Measure.objects.get(scorecard=usage_history)
    assert (float(saved.red), float(saved.green)) == (measure["red"], measure["green"])
    entry = AuditEntry.objects.get(kind="scorecards", object_id=usage_history.pk)
    assert (
        entry.source == AuditEntry.Source.ADMIN and entry.actor == cs_admin and entry.before["measures"][0]["red"] == 25
    )

    stale = client.get(URL, PARAMS).content.decode()
    assert "were scored under its earlier thresholds" in stale and "recompute --as-of 2026-06-30 --history 70" in stale

    call_command("recompute", "--as-of", LATEST_DAY.isoformat(), "--history", "70", stdout=StringIO())
    out = StringIO()
    call_command("backtest", "--step", "14", "--horizon", "28", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert report["observation_dates"] == [d.isoformat() for d in OBSERVED]
    (row,) = report["scorecards"]
    assert row["auc"] > 0.9  # was 0.5 under the old thresholds
    assert row["bands"]["at_risk"]["churn_rate"] > (row["bands"]["healthy"]["churn_rate"] or 0)
    after = client.get(URL, PARAMS).content.decode()
    assert "earlier thresholds" not in after


def test_apply_refuses_invalid_thresholds_through_config_validation(client_for, cs_admin, usage_history):
    response = client_for(cs_admin).post(
        f"/backtest/tune/{usage_history.pk}/", {**PARAMS, "red_0": "5", "green_0": "5"}
    )
    assert response.status_code == 200
    assert "red" in response.content.decode() and Measure.objects.get(scorecard=usage_history).red == 25
    assert not AuditEntry.objects.exists()


def test_scorecard_admin_links_to_tuning(client_for, cs_admin, usage_history):
    html = client_for(cs_admin).get(f"/admin/health/scorecard/{usage_history.pk}/change/").content.decode()
    assert f"/backtest/tune/{usage_history.pk}/" in html
