"""Configuration as code: validation errors with their paths, apply/export round trip, prune, dry run."""

import copy
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Feature, Tier, UseCase, Vertical
from configuration.services import ApplyReport, ConfigInvalid, config_apply, config_export
from health.models import AccountMetrics, Measure, Scorecard
from journeys.models import Journey, Stage
from segments.models import Segment
from tests.factories import (
    AccountFactory,
    AccountMetricsFactory,
    FeatureFactory,
    SegmentFactory,
    UsageFactory,
    VerticalFactory,
)

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[1] / "data"
# The example of SPEC §4.4 with the 'reminders' feature its journey uses added to `features`.
EXAMPLE = json.loads((DATA / "spec_example_config.json").read_text())
# The example exactly as SPEC §4.4 prints it: its journey names 'reminders' without defining it.
VERBATIM = json.loads((DATA / "spec_example_verbatim.json").read_text())


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
    SegmentFactory(name="Kept", rule={"field": "arr", "op": "gt", "value": 1})
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
    SegmentFactory(name="Stray", rule={"field": "arr", "op": "gt", "value": 1})
    report = config_apply(document=doc(), prune=True)
    assert report.deleted == {"segments": ["Stray"]}
    assert not Segment.objects.filter(name="Stray").exists()


def test_prune_refuses_to_delete_a_vertical_with_accounts():
    config_apply(document=doc())
    AccountFactory(vertical=VerticalFactory(name="Healthcare"))
    errors = errors_of(doc(), prune=True)
    assert (
        "verticals: cannot prune 'Healthcare': 1 account is in it (add it back to the document or move the accounts first)"
        in errors
    )
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
        (
            ("segments[0].rule.all[1].op", "gt"),
            "segments[0].rule.all[1].op: op 'gt' is not supported for choice field 'health_band'",
        ),
        (("segments[0].rule.all[0].field", "logins"), "segments[0].rule.all[0]: unknown field 'logins'"),
        (
            ("segments[0].rule.all[0].value", 5),
            "segments[0].rule.all[0].value: expected text, got 5 for field 'vertical'",
        ),
        (("segments[0].rule", {"all": [], "x": 1}), "segments[0].rule: unknown key 'x' beside 'all'"),
        (("segments[0].rule", []), "segments[0].rule: expected an object, got a list"),
        (("segments[0].active", None), "segments[0].active: expected a boolean, got null"),
        (("segments[0].priority", 2**40), "segments[0].priority: must be ≤ 2147483647, got 1099511627776"),
        (("scorecards[0].measures[0].red", float("nan")), "scorecards[0].measures[0].red: expected a number, got nan"),
        (
            ("scorecards[0].measures[0].red", 0.0001),
            "scorecards[0].measures[0].red: at most 3 decimal places, got 0.0001",
        ),
        (("scorecards[0].measures[0].red", 10**12), "scorecards[0].measures[0].red: must be below 100,000,000,000"),
        (("scorecards[0].measures[0].weight", True), "scorecards[0].measures[0].weight: expected a number, got true"),
        (
            ("scorecards[0].measures[1].metric", "active_days_90d"),
            "scorecards[0].measures[1].metric: 'active_days_90d' is already measured at scorecards[0].measures[0]",
        ),
        (("scorecards[0].measures[0]", "x"), "scorecards[0].measures[0]: expected an object, got 'x'"),
        (("scorecards[0].measures[0].metric", KeyError), "scorecards[0].measures[0].metric: required"),
        (("scorecards[0].measures[0].colour", 1), "scorecards[0].measures[0].colour: unknown key"),
        (("scorecards[0].healthy_at", 70.5), "scorecards[0].healthy_at: expected an integer, got 70.5"),
        (("scorecards[0].at_risk_below", -1), "scorecards[0].at_risk_below: must be between 0 and 100, got -1"),
        (("scorecards[0].use_case", "Board meetings"), "scorecards[0].use_case: unknown use case 'Board meetings'"),
        (("scorecards[0].name", "  "), "scorecards[0].name: must not be empty"),
        (("scorecards[0].name", "x" * 121), "scorecards[0].name: at most 120 characters, got 121"),
        (("segments[0].touch_model", "High"), "segments[0].touch_model: 'High' is not one of high, mid, self_service"),
        (("segments[0].name", "a\x00b"), "segments[0].name: must not contain NUL characters"),
        (("verticals[0].name", 7), "verticals[0].name: expected a text, got 7"),
        (("verticals[0].descr", ""), "verticals[0].descr: unknown key"),
        (("features[0].key", "sched uling"), "features[0].key: 'sched uling' must be ASCII letters, digits"),
        (("tiers[0].min_arr", 0.001), "tiers[0].min_arr: at most 2 decimal places, got 0.001"),
        (("tiers[0].name", KeyError), "tiers[0].name: required"),
        (("journeys[0].stages", []), "journeys[0].stages: a journey needs at least one stage"),
        (("journeys[0].stages[0].features", []), "journeys[0].stages[0].features: a stage needs at least one feature"),
        (
            ("journeys[0].stages[1].name", "first meeting booked"),
            "journeys[0].stages[1].name: 'first meeting booked' is already a stage of this journey at journeys[0].stages[0]",
        ),
        (
            ("journeys[0].stages[0].min_events_90d", "1"),
            "journeys[0].stages[0].min_events_90d: expected an integer, got '1'",
        ),
        (("journeys[0].stages[0].when", 1), "journeys[0].stages[0].when: unknown key"),
        (("journeys[0].vertical", "Retail"), "journeys[0].vertical: unknown vertical 'Retail'"),
        (("version", KeyError), "version: required"),
        (("version", "1"), "version: expected an integer, got '1'"),
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
    assert errors_of(document) == ["segments[0].rule.all: empty group; list at least one rule"]
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


def test_every_error_of_a_bad_rule_is_listed_with_its_path():
    document = doc()
    document["segments"][0]["rule"] = {
        "any": [
            {"field": "vertical", "op": "gt", "value": "Education"},
            {"field": "arr", "op": "between", "value": [10, 1]},
            {"not": [{"field": "arr", "op": "is_null"}]},
        ]
    }
    assert errors_of(document) == [
        "segments[0].rule.any[0].op: op 'gt' is not supported for text field 'vertical' (use one of eq, ne, in, not_in, is_null, not_null)",
        "segments[0].rule.any[1].value: 'between' on field 'arr' needs low ≤ high, got [10, 1]",
        'segments[0].rule.any[2].not: \'not\' wraps one rule (an object), got a list; use {"not": {"any": [...]}}',
    ]


def test_a_document_that_is_not_an_object_is_rejected():
    assert errors_of([EXAMPLE]) == [
        "$: expected a JSON object with version, verticals, use_cases, features, tiers, scorecards, segments, journeys, plays; got a list"
    ]


def test_the_spec_example_verbatim_needs_its_reminders_feature():
    # SPEC §4.4 prints a journey stage on 'reminders' without listing it under features: on an
    # empty database that is the one error; once usage has created the feature, it applies.
    assert errors_of(VERBATIM) == ["journeys[0].stages[1].features[0]: unknown feature 'reminders'"]
    UsageFactory(feature=FeatureFactory(key="reminders", name="Reminders"))
    report = config_apply(document=VERBATIM)
    assert report.created["journeys"] == ["Education / PTA meetings"]
    assert report.unchanged == {}
    assert not config_apply(document=VERBATIM).changed


def test_references_may_name_objects_already_in_the_database_unless_pruned():
    VerticalFactory(name="Retail")
    document = doc()
    document["scorecards"].append(
        {"name": "Retail", "vertical": "retail", "measures": [EXAMPLE["scorecards"][0]["measures"][0]]}
    )
    config_apply(document=document)
    assert Scorecard.objects.get(name="Retail").vertical.name == "Retail"
    assert errors_of(document, prune=True) == [
        "scorecards[1].vertical: unknown vertical 'retail' (define it under verticals or import it first)"
    ]


def test_upsert_matches_names_ignoring_case_and_reports_each_outcome():
    config_apply(document=doc())
    document = doc()
    document["verticals"] = [{"name": "EDUCATION", "description": "Schools"}]
    document["scorecards"][0]["vertical"] = "EDUCATION"
    document["journeys"][0]["vertical"] = "EDUCATION"
    report = config_apply(document=document)
    assert Vertical.objects.get().name == "EDUCATION"
    # The scorecard and journey point at the same vertical row: only the vertical changed.
    assert report.updated == {"verticals": ["EDUCATION"]}
    assert report.unchanged["tiers"] == ["Tier 1", "Tier 2", "Tier 3"]
    assert report.unchanged["journeys"] == ["EDUCATION / PTA meetings"]
    assert str(report).splitlines() == [
        "verticals: updated 'EDUCATION'",
        "0 created, 1 updated, 0 deleted, 9 unchanged",
    ]


def test_applying_the_same_document_again_writes_nothing():
    config_apply(document=doc())
    ids = (list(Measure.objects.values_list("pk", flat=True)), list(Stage.objects.values_list("pk", flat=True)))
    stamp = Segment.objects.get().updated_at
    report = config_apply(document=doc())
    assert not report.changed
    assert (list(Measure.objects.values_list("pk", flat=True)), list(Stage.objects.values_list("pk", flat=True))) == ids
    assert Segment.objects.get().updated_at == stamp


def test_changing_a_journey_keeps_its_stages_so_daily_results_keep_pointing_at_them():
    config_apply(document=doc())
    reminders = Stage.objects.get(name="Reminders on")
    account = AccountFactory(vertical=Vertical.objects.get(), primary_use_case=UseCase.objects.get())
    AccountMetricsFactory(account=account, as_of="2026-06-01", journey_stage=reminders)
    document = doc()
    stages = document["journeys"][0]["stages"]
    stages.insert(0, {"name": "Signed up", "features": ["scheduling"], "min_events_90d": 0})
    stages[2]["min_events_90d"] = 10
    config_apply(document=document)
    assert [(s.name, s.position, s.min_events_90d) for s in Journey.objects.get().stages.all()] == [
        ("Signed up", 0, 0),
        ("First meeting booked", 1, 1),
        ("Reminders on", 2, 10),
    ]
    assert AccountMetrics.objects.get().journey_stage_id == reminders.pk


def test_fractional_numbers_round_trip_exactly():
    document = doc()
    document["tiers"][1]["min_arr"] = 20000.5
    document["scorecards"][0]["measures"][0].update(weight=1.5, red=0.25, green=4.125)
    config_apply(document=document)
    exported = json.loads(json.dumps(config_export()))
    assert exported["tiers"][1] == {"name": "Tier 2", "min_arr": 20000.5}
    assert exported["scorecards"][0]["measures"][0] == {
        "metric": "active_days_90d",
        "weight": 1.5,
        "red": 0.25,
        "green": 4.125,
    }
    assert not config_apply(document=exported).changed


def test_export_is_deterministic_and_ordered():
    config_apply(document=doc())
    extra = doc(verticals=[{"name": "Aviation"}, {"name": "Zoos"}], scorecards=[], segments=[], journeys=[])
    config_apply(document=extra)
    exported = config_export()
    assert [v["name"] for v in exported["verticals"]] == ["Aviation", "Education", "Zoos"]
    assert [f["key"] for f in exported["features"]] == ["reminders", "scheduling"]
    assert [m["metric"] for m in exported["scorecards"][0]["measures"]] == [
        "active_days_90d",
        "days_since_last_activity",
    ]
    assert exported == config_export()


def test_tiers_can_swap_their_minimums():
    config_apply(document=doc())
    document = doc()
    document["tiers"][0]["min_arr"], document["tiers"][1]["min_arr"] = 20000, 100000
    report = config_apply(document=document)
    assert report.updated == {"tiers": ["Tier 1", "Tier 2"]}
    assert list(Tier.objects.values_list("name", flat=True)) == ["Tier 2", "Tier 1", "Tier 3"]


def test_a_tier_minimum_taken_by_a_tier_left_alone_is_an_error_unless_pruned():
    Tier.objects.create(name="Gold", min_arr=100000)
    assert errors_of(doc()) == ["tiers[0].min_arr: 100000 is already the minimum of the existing tier 'Gold'"]
    report = config_apply(document=doc(), prune=True)
    assert report.deleted == {"tiers": ["Gold"]}
    assert Tier.objects.get(min_arr=100000).name == "Tier 1"


def test_a_scope_taken_by_a_scorecard_left_alone_is_an_error_unless_pruned():
    Scorecard.objects.create(name="Old Education", vertical=VerticalFactory(name="Education"))
    assert errors_of(doc()) == [
        "scorecards[0]: another active scorecard has the same scope (the existing scorecard 'Old Education'); "
        "make one inactive or change its vertical / use case"
    ]
    assert config_apply(document=doc(), prune=True).deleted == {"scorecards": ["Old Education"]}


def test_names_that_would_share_a_url_slug_are_rejected():
    VerticalFactory(name="Higher Education")
    document = doc()
    document["verticals"].append({"name": "Higher-Education"})
    document["use_cases"] += [{"name": "Board meetings"}, {"name": "Board  Meetings!"}]
    assert errors_of(document) == [
        "verticals[1].name: 'Higher-Education' has the same URL slug 'higher-education' as the existing 'Higher Education'; rename one",
        "use_cases[2].name: 'Board  Meetings!' has the same URL slug 'board-meetings' as use_cases[1]; rename one",
    ]


def test_prune_deletes_every_kind_left_out_and_refuses_what_is_in_use():
    config_apply(document=doc())
    empty = {"version": 1}
    report = config_apply(document=empty, prune=True, dry_run=True)
    assert report.deleted == {
        "journeys": ["Education / PTA meetings"],
        "segments": ["Education at risk"],
        "scorecards": ["Education"],
        "tiers": ["Tier 1", "Tier 2", "Tier 3"],
        "features": ["reminders", "scheduling"],
        "use_cases": ["PTA meetings"],
        "verticals": ["Education"],
    }
    assert config_export()["scorecards"]  # dry run: still there
    account = AccountFactory(vertical=Vertical.objects.get(), primary_use_case=UseCase.objects.get())
    UsageFactory(account=account, feature=Feature.objects.get(key="scheduling"))
    assert errors_of(empty, prune=True) == [
        "verticals: cannot prune 'Education': 1 account is in it (add it back to the document or move the accounts first)",
        "use_cases: cannot prune 'PTA meetings': 1 account runs it (add it back to the document)",
        "features: cannot prune 'scheduling': usage or stated drivers refer to it (add it back to the document)",
    ]
    report = config_apply(
        document=doc(features=EXAMPLE["features"], journeys=[], scorecards=[], segments=[]), prune=True
    )
    assert report.deleted == {
        "journeys": ["Education / PTA meetings"],
        "segments": ["Education at risk"],
        "scorecards": ["Education"],
    }
    assert not Journey.objects.exists() and Vertical.objects.exists()


def test_dry_run_of_changes_and_prune_writes_nothing():
    config_apply(document=doc())
    before = config_export()
    document = doc(segments=[])
    document["scorecards"][0]["healthy_at"] = 80
    report = config_apply(document=document, dry_run=True, prune=True)
    assert report.updated == {"scorecards": ["Education"]} and report.deleted == {"segments": ["Education at risk"]}
    assert str(report).splitlines()[0] == "scorecards: would be updated 'Education'"
    assert config_export() == before


def test_report_type_is_printable():
    report = ApplyReport()
    assert str(report) == "nothing to change: the configuration already matches the document"


def test_apply_config_reads_stdin_and_dry_runs(monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO(json.dumps(EXAMPLE)))
    out = StringIO()
    call_command("apply_config", "-", "--dry-run", stdout=out)
    assert "verticals: would be created 'Education'" in out.getvalue()
    assert out.getvalue().rstrip().endswith("dry run: nothing was changed")
    assert not Vertical.objects.exists()


def test_apply_config_prune_from_the_command(tmp_path):
    config_apply(document=doc())
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc(segments=[])))
    out = StringIO()
    call_command("apply_config", str(path), "--prune", stdout=out)
    assert "segments: deleted 'Education at risk'" in out.getvalue()
    assert not Segment.objects.exists()


def test_export_config_prints_json_to_stdout():
    config_apply(document=doc())
    out = StringIO()
    call_command("export_config", stdout=out)
    assert json.loads(out.getvalue()) == config_export()
    assert out.getvalue().startswith('{\n  "version": 1,')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": 1, "version": 1}', "the key 'version' appears twice in one object"),
        ("", "invalid JSON at line 1, column 1"),
    ],
)
def test_apply_config_rejects_unreadable_input(tmp_path, text, message):
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("apply_config", str(path), stdout=StringIO(), stderr=StringIO())


def test_apply_config_missing_file():
    with pytest.raises(CommandError, match="nope.json: No such file or directory"):
        call_command("apply_config", "nope.json", stdout=StringIO())
