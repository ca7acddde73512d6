"""Issue 15 §8 over the API: slug clashes, deleting a much-used feature, PUT vs PATCH, bad paging
and filter parameters — each a 4xx naming the field, never a 500 or a silent default."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Feature, UsageDaily, Vertical
from tests.factories import AccountFactory, FeatureFactory, SegmentFactory, UsageFactory, VerticalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(cs_admin):
    client = APIClient()
    client.force_authenticate(cs_admin)
    client.raise_request_exception = True
    return client


def _paths(response) -> set[str]:
    return {e["path"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("endpoint", "first", "second"),
    [
        ("verticals", "Education", "Education!"),
        ("verticals", "!!!", "???"),
        ("use-cases", "PTA meetings", "PTA meetings?"),
    ],
)
def test_a_name_whose_slug_is_taken_is_a_400_naming_it(admin_api, endpoint, first, second):
    assert admin_api.post(f"/api/v1/{endpoint}/", {"name": first}, format="json").status_code == 201
    assert admin_api.post(f"/api/v1/{endpoint}/", {"name": first}, format="json").status_code in (200, 201)
    response = admin_api.post(f"/api/v1/{endpoint}/", {"name": second}, format="json")
    assert response.status_code == 400 and _paths(response) == {"name"}
    assert "same URL slug" in response.json()["errors"][0]["message"]


def test_the_model_suffixes_a_taken_slug_like_the_importer():
    VerticalFactory(name="Education")
    assert Vertical.objects.create(name="Education!").slug == "education-2"
    assert Vertical.objects.create(name="Education?").slug == "education-3"
    assert Vertical.objects.create(name="!!!").slug == "x"
    assert Vertical.objects.create(name="???").slug == "x-2"


def test_deleting_a_used_feature_is_one_cheap_check(admin_api):
    feature = FeatureFactory(key="scheduling")
    for _ in range(5):
        UsageFactory(account=AccountFactory(), feature=feature)
    with CaptureQueriesContext(connection) as queries:
        response = admin_api.delete("/api/v1/features/scheduling/")
    assert response.status_code == 409
    assert "daily usage" in response.json()["errors"][0]["message"]
    usage_reads = [q["sql"] for q in queries if "accounts_usagedaily" in q["sql"]]
    assert len(usage_reads) == 1 and "LIMIT 3" in usage_reads[0], usage_reads  # 3 rows named, no more loaded
    assert Feature.objects.filter(key="scheduling").exists() and UsageDaily.objects.count() == 5
    FeatureFactory(key="unused")
    assert admin_api.delete("/api/v1/features/unused/").status_code == 204


def test_put_needs_the_whole_object(admin_api):
    VerticalFactory(name="Education")
    SegmentFactory(name="All", rule={"field": "arr", "op": "gte", "value": 0})
    for url in ("/api/v1/verticals/education/", "/api/v1/segments/all/"):
        response = admin_api.put(url)
        assert response.status_code == 400, url
        assert "name" in _paths(response), url
        assert "PUT replaces the whole object" in response.json()["errors"][0]["message"]
    response = admin_api.put("/api/v1/verticals/education/", {"name": "Education"}, format="json")
    assert response.status_code == 400 and _paths(response) == {"description"}
    full = {"name": "Education", "description": "Schools"}
    assert admin_api.put("/api/v1/verticals/education/", full, format="json").json()["description"] == "Schools"
    assert admin_api.patch("/api/v1/verticals/education/", {"description": "K-12"}, format="json").status_code == 200


@pytest.mark.parametrize("body", ["5", "[1]", '"x"', "null", "true"])
def test_patch_with_something_other_than_an_object_is_a_400(admin_api, body):
    VerticalFactory(name="Education")
    SegmentFactory(name="All", rule={"field": "arr", "op": "gte", "value": 0})
    for url in ("/api/v1/verticals/education/", "/api/v1/segments/all/"):
        response = admin_api.patch(url, body, content_type="application/json")
        assert response.status_code == 400, (url, body)


@pytest.mark.parametrize("value", ["null", "abc", "0", "-3", "1.5", ""])
def test_a_bad_page_size_is_a_400_naming_it(admin_api, value):
    for url in ("/api/v1/accounts/", "/api/v1/verticals/"):
        response = admin_api.get(url, {"page_size": value})
        assert response.status_code == 400 and _paths(response) == {"page_size"}, (url, value)


def test_a_big_page_size_is_capped_not_refused(admin_api):
    assert admin_api.get("/api/v1/verticals/", {"page_size": 100000}).status_code == 200


@pytest.mark.parametrize("param", ["score_min", "score_max", "renewal_within_days"])
def test_a_non_numeric_filter_is_a_400_naming_it(admin_api, param):
    response = admin_api.get("/api/v1/accounts/", {param: "abc"})
    assert response.status_code == 400 and _paths(response) == {param}
