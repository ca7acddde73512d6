"""The segment rule grammar (SPEC §6): the field catalogue, the ops per kind and every validation error."""

import dataclasses

import pytest

from health.metrics_catalog import METRICS
from segments.rules import ALL_OPS, FIELDS, OPS_BY_KIND, FieldSpec, RuleError, check_rule, validate_rule

SPEC_FIELDS = {
    "vertical": "text",
    "use_case": "set",
    "primary_use_case": "text",
    "arr": "number",
    "tier": "text",
    "seats": "number",
    "employees": "number",
    "persona": "choice",
    "owner": "text",
    "health_score": "number",
    "health_band": "choice",
    "days_to_renewal": "number",
    "journey_stage": "text",
}
SAMPLE = {"number": 5, "text": "Education", "set": "PTA meetings"}


def cond(field, op, *value):
    rule = {"field": field, "op": op}
    if value:
        rule["value"] = value[0]
    return rule


def test_fields_cover_the_spec_and_every_metric():
    assert {name: FIELDS[name].kind for name in SPEC_FIELDS} == SPEC_FIELDS
    assert set(FIELDS) == set(SPEC_FIELDS) | set(METRICS)
    assert all(FIELDS[m].kind == "number" for m in METRICS)
    assert FIELDS["health_band"].choices == ("healthy", "neutral", "at_risk", "unknown")
    assert FIELDS["persona"].choices == ("executive", "manager", "individual_contributor")
    assert all(spec.name == name for name, spec in FIELDS.items())
    with pytest.raises(dataclasses.FrozenInstanceError):
        FIELDS["arr"].kind = "text"
    assert isinstance(FIELDS["arr"], FieldSpec)


def test_ops_by_kind():
    assert set(OPS_BY_KIND["number"]) == set(ALL_OPS)
    for kind in ("text", "choice", "set"):
        assert set(OPS_BY_KIND[kind]) == {"eq", "ne", "in", "not_in", "is_null", "not_null"}


def _valid_value(spec, op):
    one = spec.choices[0] if spec.choices else SAMPLE[spec.kind]
    if op in ("is_null", "not_null"):
        return ()
    if op in ("in", "not_in"):
        return ([one, one],)
    if op == "between":
        return ([1, 2.5],)
    return (one,)


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_field_accepts_every_op_of_its_kind_and_rejects_the_others(field):
    spec = FIELDS[field]
    for op in OPS_BY_KIND[spec.kind]:
        assert validate_rule(cond(field, op, *_valid_value(spec, op))) == [], op
    for op in set(ALL_OPS) - set(OPS_BY_KIND[spec.kind]):
        assert validate_rule(cond(field, op, 1)) == [
            f"rule.op: op '{op}' is not supported for {spec.kind} field '{field}' "
            f"(use one of {', '.join(OPS_BY_KIND[spec.kind])})"
        ]


def test_nested_groups_are_valid():
    rule = {
        "all": [
            {"any": [cond("vertical", "eq", "Education"), cond("use_case", "in", ["PTA meetings", "Board meetings"])]},
            {"not": {"all": [cond("health_band", "eq", "AT_RISK"), cond("arr", "between", [0, 1000])]}},
            cond("owner", "not_null"),
            cond("days_to_renewal", "lte", -3),
            cond("persona", "ne", "Executive"),
            cond("seats", "is_null", None),
        ]
    }
    assert validate_rule(rule) == []
    check_rule(rule)


@pytest.mark.parametrize(
    ("rule", "errors"),
    [
        (
            {"all": [cond("arr", "gt", 1), cond("vertical", "gt", "x")]},
            [
                "rule.all[1].op: op 'gt' is not supported for text field 'vertical' (use one of eq, ne, in, not_in, is_null, not_null)"
            ],
        ),
        ({"any": [cond("arr", "gt", "abc")]}, ["rule.any[0].value: expected a number, got 'abc' for field 'arr'"]),
        (
            {"all": [cond("arr", "gt", 1), cond("arr", "gt", 1), cond("logins", "gt", 1)]},
            ["rule.all[2]: unknown field 'logins'"],
        ),
        (cond(5, "eq", 1), ["rule: unknown field 5"]),
        (
            cond("arr", "equals", 1),
            [
                "rule.op: unknown op 'equals' for field 'arr' (one of eq, ne, in, not_in, gt, gte, lt, lte, between, is_null, not_null)"
            ],
        ),
        (
            cond("arr", ["eq"], 1),
            [
                "rule.op: unknown op a list for field 'arr' (one of eq, ne, in, not_in, gt, gte, lt, lte, between, is_null, not_null)"
            ],
        ),
        ({**cond("arr", "eq", 1), "vale": 2}, ["rule: unknown key 'vale' (a condition has field, op, value)"]),
        ({"field": "arr"}, ["rule: a condition needs op"]),
        ({}, ["rule: a condition needs field and op"]),
        (
            {"all": [cond("arr", "gt", 1)], "name": "x"},
            ["rule: unknown key 'name' beside 'all' (a group has only 'all')"],
        ),
        ({"all": [cond("arr", "gt", 1)], "any": []}, ["rule: a group has exactly one of all, any, not; got all, any"]),
        ({"all": []}, ["rule.all: empty group; list at least one rule"]),
        ({"any": {"field": "arr"}}, ["rule.any: expected a list of rules, got an object"]),
        (
            {"not": [cond("arr", "gt", 1)]},
            ['rule.not: \'not\' wraps one rule (an object), got a list; use {"not": {"any": [...]}}'],
        ),
        (
            {"not": "arr > 1"},
            [
                'rule.not: expected a rule object ({"all": [...]}, {"any": [...]}, {"not": {...}} or {"field", "op", "value"}), got \'arr > 1\''
            ],
        ),
        (
            [cond("arr", "gt", 1)],
            [
                'rule: expected a rule object ({"all": [...]}, {"any": [...]}, {"not": {...}} or {"field", "op", "value"}), got a list'
            ],
        ),
        (cond("arr", "between", [10, 1]), ["rule.value: 'between' on field 'arr' needs low ≤ high, got [10, 1]"]),
        (cond("arr", "between", [1]), ["rule.value: 'between' on field 'arr' needs [low, high], got a list"]),
        (cond("arr", "between", 5), ["rule.value: 'between' on field 'arr' needs [low, high], got 5"]),
        (
            cond("arr", "between", ["a", True]),
            [
                "rule.value[0]: expected a number, got 'a' for field 'arr'",
                "rule.value[1]: expected a number, got true for field 'arr'",
            ],
        ),
        (cond("vertical", "in", []), ["rule.value: op 'in' on field 'vertical' needs a non-empty list, got a list"]),
        (
            cond("vertical", "not_in", "Education"),
            ["rule.value: op 'not_in' on field 'vertical' needs a non-empty list, got 'Education'"],
        ),
        (cond("vertical", "in", ["Education", 3]), ["rule.value[1]: expected text, got 3 for field 'vertical'"]),
        (cond("seats", "is_null", 0), ["rule.value: op 'is_null' on field 'seats' takes no value, got 0"]),
        (
            cond("owner", "not_null", "a@b.c"),
            ["rule.value: op 'not_null' on field 'owner' takes no value, got 'a@b.c'"],
        ),
        (cond("arr", "eq"), ["rule.value: op 'eq' on field 'arr' needs a value"]),
        (cond("arr", "eq", None), ["rule.value: expected a number, got null for field 'arr'"]),
        (cond("arr", "gte", True), ["rule.value: expected a number, got true for field 'arr'"]),
        (cond("arr", "gte", float("nan")), ["rule.value: expected a number, got nan for field 'arr'"]),
        (cond("arr", "gte", float("inf")), ["rule.value: expected a number, got inf for field 'arr'"]),
        (cond("vertical", "eq", "  "), ["rule.value: expected text, got '  ' for field 'vertical'"]),
        (cond("vertical", "eq", "a\x00b"), ["rule.value: text for field 'vertical' contains a NUL character"]),
        (
            cond("health_band", "eq", "sad"),
            ["rule.value: 'sad' is not a health_band (one of healthy, neutral, at_risk, unknown)"],
        ),
        (
            cond("health_band", "eq", "churned"),
            ["rule.value: 'churned' is not a health_band (one of healthy, neutral, at_risk, unknown)"],
        ),
        (
            cond("persona", "in", ["Manager", "ceo"]),
            ["rule.value[1]: 'ceo' is not a persona (one of executive, manager, individual_contributor)"],
        ),
        (cond("use_case", "eq", 1), ["rule.value: expected text, got 1 for field 'use_case'"]),
    ],
)
def test_each_error_names_the_condition_and_why(rule, errors):
    assert validate_rule(rule) == errors
    with pytest.raises(RuleError) as exc:
        check_rule(rule)
    assert exc.value.errors == errors
    assert isinstance(exc.value, ValueError)


def test_every_error_is_reported_at_once_under_the_given_path():
    rule = {
        "any": [
            {"field": "logins", "op": "gt", "value": 1},
            {
                "all": [
                    {"field": "arr", "op": "gt", "value": "x", "typo": 1},
                    {"not": {"field": "tier", "op": "lt", "value": "Gold"}},
                ]
            },
        ]
    }
    assert validate_rule(rule, "segments[3].rule") == [
        "segments[3].rule.any[0]: unknown field 'logins'",
        "segments[3].rule.any[1].all[0]: unknown key 'typo' (a condition has field, op, value)",
        "segments[3].rule.any[1].all[0].value: expected a number, got 'x' for field 'arr'",
        "segments[3].rule.any[1].all[1].not.op: op 'lt' is not supported for text field 'tier' (use one of eq, ne, in, not_in, is_null, not_null)",
    ]


def test_absurd_nesting_is_an_error_not_a_crash():
    rule = cond("arr", "gt", 1)
    for _ in range(2000):
        rule = {"not": rule}
    errors = validate_rule(rule)
    assert len(errors) == 1 and errors[0].endswith(": rule nested more than 32 levels deep")
