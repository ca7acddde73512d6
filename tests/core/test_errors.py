"""Problems travel as (path, message) pairs: the API and the admin read the parts, never the text."""

import pickle

from rest_framework.test import APIClient

from configuration.admin.base import _item_place
from configuration.validation import validate_document
from core.errors import Problem, path_steps


def test_a_problem_reads_as_text_and_keeps_its_parts():
    problem = Problem("scorecards[0].measures[1].metric", "unknown metric 'logins'")
    assert problem == "scorecards[0].measures[1].metric: unknown metric 'logins'"
    assert (problem.path, problem.message) == ("scorecards[0].measures[1].metric", "unknown metric 'logins'")
    assert problem.under("scorecards[0].") == "measures[1].metric"
    assert pickle.loads(pickle.dumps(problem)).path == problem.path


def test_a_message_with_a_colon_keeps_its_path(db):
    # The text "a: b: c" cannot say where the path ends; the pair can.
    [problem] = validate_document({"version": 1, "tiers": [{"name": "T: 1", "min_arr": -1}]})
    assert problem.path == "tiers[0].min_arr" and problem.message == "must be ≥ 0, got -1"


def test_path_steps_and_the_admin_place_of_a_path():
    assert path_steps("scorecards[0].measures[1].metric") == ["scorecards", 0, "measures", 1, "metric"]
    assert _item_place("scorecards[0].measures[1].metric") == ("measures", 1, "metric")
    assert _item_place("journeys[0].stages[0].features[1]") == ("stages", 0, "features")
    assert _item_place("segments[0].name") == (None, None, "name")
    assert _item_place("segments[0]") == (None, None, None)
    assert _item_place("segments[0].rule.all[1].value") is None  # shown whole, above the form


def test_the_api_reports_the_pairs(cs_admin):
    api = APIClient()
    api.force_authenticate(cs_admin)
    response = api.post(
        "/api/v1/scorecards/", {"name": "X", "measures": [{"metric": "logins", "red": 0, "green": 1}]}, format="json"
    )
    assert response.status_code == 400
    assert {"path": "measures[0].metric", "message": response.json()["errors"][0]["message"]} in response.json()[
        "errors"
    ]
    assert response.json()["errors"][0]["message"].startswith("unknown metric 'logins'")
