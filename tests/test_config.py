"""Configuration as code: validation errors with their paths, apply/export round trip, prune, dry run."""

import copy
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Feature, Tier, Vertical
from configuration.services import ConfigInvalid, config_apply, config_export
from health.models import Scorecard
from journeys.models import Journey
from segments.models import Segment
from tests.factories import AccountFactory, VerticalFactory

pytestmark = pytest.mark.django_db

EXAMPLE = json.loads((Path(__file__).parent / "data" / "spec_example_config.json").read_text())


def doc(**changes):
    document = copy.deepcopy(EXAMPLE)
    document.update(changes)
    return document


def errors_of(document, **kwargs):
    with pytest.raises(ConfigInvalid) as exc:
        config_apply(document=document, **kwargs)
    return exc.value.errors


def test_spec_example_applies_and_creates_everything():
    report = config_apply(document=doc())
    assert report.created["scorecards"] == ["Education"]
    sc = Scorecard.objects.get(name="Education")
    assert sc.vertical.name == "Education" and sc.use_case is None
    assert [(m.metric, int(m.weight), int(m.red), int(m.green)) for m in sc.measures.all()] == [
        ("active_days_90d", 2, 1, 5),
        ("days_since_last_activity", 1, 120, 30),
    ]
    journey = Journey.objects.get()
    assert [s.name for s in journey.stages.all()] == ["First meeting booked", "Reminders on"]
    assert Segment.objects.get().rule["all"][1]["value"] == "at_risk"
    assert list(Tier.objects.values_list("name", flat=True)) == ["Tier 1", "Tier 2", "Tier 3"]


def test_export_then_apply_is_an_identity():
    config_apply(document=doc())
    first = config_export()
    report = config_apply(document=json.loads(json.dumps(first)))
    assert not report.changed
    assert report.lines() == ["nothing to change: the configuration already matches the document"]
    assert config_export() == first


def test_commands_round_trip(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(EXAMPLE))
    call_command("apply_config", str(path), stdout=StringIO())
    exported = tmp_path / "exported.json"
    call_command("export_config", "-o", str(exported), stdout=StringIO())
    out = StringIO()
    call_command("apply_config", str(exported), stdout=out)
    assert "nothing to change" in out.getvalue()


def test_measures_and_stages_are_replaced_and_unmentioned_objects_left_alone():
    config_apply(document=doc())
    Segment.objects.create(name="Kept", rule={"field": "arr", "op": "gt", "value": 1})
    changed = doc(segments=[])
    changed["scorecards"][0]["measures"] = [{"metric": "events_30d", "weight": 1, "red": 0, "green": 100}]
    changed["journeys"][0]["stages"] = changed["journeys"][0]["stages"][:1]
    report = config_apply(document=changed)
    assert report.updated == {"scorecards": ["Education"], "journeys": ["Education / PTA meetings"]}
    assert list(Scorecard.objects.get().measures.values_list("metric", flat=True)) == ["events_30d"]
    assert Journey.objects.get().stages.count() == 1
    assert set(Segment.objects.values_list("name", flat=True)) == {"Education at risk", "Kept"}


def test_prune_deletes_what_the_document_leaves_out():
    config_apply(document=doc())
    Segment.objects.create(name="Stray", rule={"field": "arr", "op": "gt", "value": 1})
    report = config_apply(document=doc(), prune=True)
    assert report.deleted == {"segments": ["Stray"]}
    assert not Segment.objects.filter(name="Stray").exists()


def test_prune_refuses_to_delete_a_vertical_with_accounts():
    config_apply(document=doc())
    AccountFactory(vertical=VerticalFactory(name="Healthcare"))
    errors = errors_of(doc(), prune=True)
    assert "verticals: cannot prune 'Healthcare': 1 accounts are in it (add it back to the document)" in errors
    assert Vertical.objects.filter(name="Healthcare").exists()


def test_dry_run_reports_and_writes_nothing():
    report = config_apply(document=doc(), dry_run=True)
    assert report.created["verticals"] == ["Education"]
    assert report.lines()[0] == "verticals: would be created 'Education'"
    assert not Vertical.objects.exists() and not Scorecard.objects.exists()


def bad(path_and_value):
    """A copy of the example with one value replaced at a simple dotted path."""
    document = copy.deepcopy(EXAMPLE)
    path, value = path_and_value
    target = document
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is KeyError:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return document


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("scorecards[0].measures[1].metric", "logins"), "scorecards[0].measures[1].metric: unknown metric 'logins'"),
        (("scorecards[0].measures[0].weight", 0), "scorecards[0].measures[0].weight: must be greater than 0, got 0"),
        (("scorecards[0].measures[0].weight", -1), "scorecards[0].measures[0].weight: must be greater than 0"),
        (("scorecards[0].measures[0].green", 1), "scorecards[0].measures[0].green: must differ from red (1)"),
        (("scorecards[0].measures[0].red", "one"), "scorecards[0].measures[0].red: expected a number, got 'one'"),
        (("scorecards[0].at_risk_below", 80), "scorecards[0].at_risk_below: 80 is above healthy_at 70"),
        (("scorecards[0].healthy_at", 120), "scorecards[0].healthy_at: must be between 0 and 100, got 120"),
        (("scorecards[0].vertical", "Retail"), "scorecards[0].vertical: unknown vertical 'Retail'"),
        (("scorecards[0].measures", []), "scorecards[0].measures: a scorecard needs at least one measure"),
        (("scorecards[0].colour", "red"), "scorecards[0].colour: unknown key"),
        (("scorecards[0].name", KeyError), "scorecards[0].name: required"),
        (("scorecards[0].active", "yes"), "scorecards[0].active: expected a boolean, got 'yes'"),
        (("segments[0].touch_model", "low"), "segments[0].touch_model: 'low' is not one of high, mid, self_service"),
        (("segments[0].rule.all[1].op", "gt"), "segments[0].rule.all[1].op: op 'gt' is not supported for choice field 'health_band'"),
        (("segments[0].rule.all[0].field", "logins"), "segments[0].rule.all[0].field: unknown field 'logins'"),
        (("segments[0].rule.all[1].value", "sad"), "segments[0].rule.all[1].value: 'sad' is not a health_band"),
        (("segments[0].priority", 1.5), "segments[0].priority: expected an integer, got 1.5"),
        (("journeys[0].stages[1].features[0]", "video"), "journeys[0].stages[1].features[0]: unknown feature 'video'"),
        (("journeys[0].stages[0].min_events_90d", -1), "journeys[0].stages[0].min_events_90d: must be ≥ 0, got -1"),
        (("journeys[0].use_case", "Board meetings"), "journeys[0].use_case: unknown use case 'Board meetings'"),
        (("tiers[1].min_arr", 100000), "tiers[1].min_arr: 100000 is already the minimum of tiers[0]"),
        (("tiers[2].min_arr", -1), "tiers[2].min_arr: must be ≥ 0, got -1"),
        (("features[1].key", "scheduling"), "features[1].key: 'scheduling' is already defined at features[0]"),
        (("version", 2), "version: unsupported version 2"),
        (("verticalz", []), "verticalz: unknown key"),
        (("verticals", {"name": "x"}), "verticals: expected a list, got an object"),
    ],
)
def test_each_error_names_its_path(change, expected):
    errors = errors_of(bad(change))
    assert any(e.startswith(expected) for e in errors), errors
    assert not Vertical.objects.exists() and not Feature.objects.exists()


def test_all_errors_are_reported_at_once():
    document = bad(("scorecards[0].measures[1].metric", "logins"))
    document["segments"][0]["touch_model"] = "low"
    assert len(errors_of(document)) == 2


def test_two_active_scorecards_with_the_same_scope_are_rejected():
    config_apply(document=doc())
    clash = doc()
    clash["scorecards"].append({**clash["scorecards"][0], "name": "Education v2"})
    assert any("another active scorecard has the same scope" in e for e in errors_of(clash))
    clash["scorecards"][1]["active"] = False
    config_apply(document=clash)
    assert Scorecard.objects.count() == 2


def test_invalid_document_changes_nothing_even_when_most_of_it_is_valid():
    config_apply(document=doc())
    before = config_export()
    document = doc()
    document["tiers"][0]["min_arr"] = 250000
    document["segments"][0]["rule"] = {"all": []}
    assert errors_of(document) == ["segments[0].rule.all: expected a non-empty list of rules"]
    assert config_export() == before


def test_command_reports_bad_json_with_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"version": 1,\n "verticals": [}\n')
    with pytest.raises(CommandError, match=r"invalid JSON at line 2, column 16"):
        call_command("apply_config", str(path), stdout=StringIO(), stderr=StringIO())


def test_command_prints_every_error_and_fails(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad(("scorecards[0].measures[1].metric", "logins"))))
    err = StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("apply_config", str(path), stdout=StringIO(), stderr=err)
    assert "scorecards[0].measures[1].metric: unknown metric 'logins'" in err.getvalue()
