"""Rules over the API: writes for CS Admins only, validated exactly like apply_config."""

import pytest
from rest_framework.test import APIClient

from health.models import HealthScore, Scorecard
from pipeline.models import RecomputeRun
from segments.models import Segment
from tests.factories import AccountFactory, VerticalFactory

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


SEGMENT = {"name": "Big", "touch_model": "high", "priority": 5, "rule": {"field": "arr", "op": "gte", "value": 100000}}
SCORECARD = {
    "name": "Edu",
    "vertical": "Education",
    "measures": [{"metric": "active_days_90d", "weight": 2, "red": 1, "green": 5}],
}


@pytest.mark.parametrize(
    "url", ["/api/v1/segments/", "/api/v1/scorecards/", "/api/v1/journeys/", "/api/v1/config/", "/api/v1/recompute/"]
)
@pytest.mark.parametrize("who", ["csm", "leader"])
def test_csm_and_leader_read_but_cannot_write(request, url, who):
    client = api(request.getfixturevalue(who))
    assert client.get(url).status_code == 200
    assert client.post(url, {}, format="json").status_code == 403


def test_admin_creates_updates_and_deletes_a_segment(cs_admin):
    client = api(cs_admin)
    created = client.post("/api/v1/segments/", SEGMENT, format="json")
    assert created.status_code == 201 and created.json()["rule"] == SEGMENT["rule"]
    updated = client.patch("/api/v1/segments/big/", {"priority": 9}, format="json")
    assert updated.status_code == 200 and Segment.objects.get().priority == 9
    renamed = client.patch("/api/v1/segments/big/", {"name": "Huge"}, format="json")
    assert renamed.status_code == 400 and renamed.json()["errors"][0]["path"] == "name"
    assert client.delete("/api/v1/segments/big/").status_code == 204


def test_an_invalid_rule_is_refused_with_its_path(cs_admin):
    bad = {**SEGMENT, "rule": {"all": [{"field": "arr", "op": "gt", "value": "lots"}]}}
    response = api(cs_admin).post("/api/v1/segments/", bad, format="json")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["path"] == "rule.all[0].value" and "arr" in error["message"]
    assert not Segment.objects.exists()


def test_scorecard_validation_and_create(cs_admin):
    client = api(cs_admin)
    VerticalFactory(name="Education")
    bad = {**SCORECARD, "measures": [{"metric": "logins", "weight": 0, "red": 1, "green": 1}]}
    errors = client.post("/api/v1/scorecards/", bad, format="json").json()["errors"]
    assert {e["path"] for e in errors} >= {"measures[0].metric", "measures[0].weight", "measures[0].green"}
    assert client.post("/api/v1/scorecards/", SCORECARD, format="json").status_code == 201
    assert Scorecard.objects.get().vertical.name == "Education"


def test_config_get_and_dry_run_post(cs_admin, leader):
    document = api(leader).get("/api/v1/config/").json()
    assert document["version"] == 1
    document["segments"] = [SEGMENT]
    preview = api(cs_admin).post("/api/v1/config/?dry_run=true", document, format="json")
    assert preview.json()["created"] == {"segments": ["Big"]} and preview.json()["dry_run"] is True
    assert not Segment.objects.exists()
    bad = api(cs_admin).post("/api/v1/config/", {"version": 2}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "version"


def test_recompute_starts_a_run_and_reports_it(cs_admin, django_capture_on_commit_callbacks):
    AccountFactory()
    client = api(cs_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/recompute/", {"as_of": "2026-06-30"}, format="json")
    assert response.status_code == 202
    run = client.get(f"/api/v1/recompute/{response.json()['id']}/").json()
    assert run["status"] == "succeeded" and run["as_of"] == "2026-06-30"
    assert HealthScore.objects.filter(as_of="2026-06-30").count() == 1
    busy = RecomputeRun.objects.create(as_of="2026-06-30", status="running")
    refused = client.post("/api/v1/recompute/", {}, format="json")
    assert refused.status_code == 409 and f"run {busy.pk}" in refused.json()["error"]
    assert client.post("/api/v1/recompute/", {"as_of": "soon"}, format="json").status_code == 400
