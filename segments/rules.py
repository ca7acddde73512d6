"""The segment rule grammar of SPEC §6: fields, the ops each supports, and validation.

A rule is `{"all": [R…]}`, `{"any": [R…]}`, `{"not": R}` or a condition
`{"field": F, "op": O, "value": V}`, nested freely. Validation returns every problem as
"<path>: <message>"; the compiler (segments/compiler.py) only ever sees valid rules.

Field kinds and the ops they support (`OPS_BY_KIND`):

| kind     | fields                                   | ops                                                  |
|----------|------------------------------------------|------------------------------------------------------|
| number   | arr, seats, employees, health_score, days_to_renewal, every §5.1 metric | all: eq ne in not_in gt gte lt lte between is_null not_null |
| text     | vertical, primary_use_case, tier, owner, journey_stage | eq ne in not_in is_null not_null (case-insensitive) |
| choice   | persona, health_band (text with fixed values, checked case-insensitively) | as text |
| set      | use_case (the account's use cases)       | as text: eq/in "has (any of)", ne/not_in "has none of" |

Ordering ops (gt…between) make no sense on names, so text, choice and set fields reject them.
Values: numbers are JSON numbers (not booleans, not NaN/Infinity); text values non-empty strings;
`in`/`not_in` a non-empty list; `between` `[low, high]` with low ≤ high; `is_null`/`not_null` no
value (an explicit `null` is tolerated).
"""

import math
from dataclasses import dataclass

from accounts.models import Persona
from core.errors import Problem
from health.metrics_catalog import METRICS
from health.models import CUSTOMER_BANDS


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "text", "number", "set" (use_case) or "choice" (text with fixed values)
    choices: tuple[str, ...] | None = None
    label: str = ""


# health_band always has a value ('unknown' without a score); churned accounts are in no segment,
# so 'churned' is not a value a rule can usefully name.
BANDS = tuple(str(b) for b in CUSTOMER_BANDS)
PERSONAS = tuple(Persona.values)

FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in [
        FieldSpec("vertical", "text", label="Vertical"),
        FieldSpec("use_case", "set", label="Runs use case"),
        FieldSpec("primary_use_case", "text", label="Primary use case"),
        FieldSpec("arr", "number", label="ARR"),
        FieldSpec("tier", "text", label="Tier"),
        FieldSpec("seats", "number", label="Seats"),
        FieldSpec("employees", "number", label="Employees"),
        FieldSpec("persona", "choice", PERSONAS, label="Persona"),
        FieldSpec("owner", "text", label="Owner (email)"),
        FieldSpec("health_score", "number", label="Health score"),
        FieldSpec("health_band", "choice", BANDS, label="Health band"),
        FieldSpec("days_to_renewal", "number", label="Days to renewal"),
        FieldSpec("journey_stage", "text", label="Journey stage"),
        *[FieldSpec(m.key, "number", label=m.label) for m in METRICS.values()],
    ]
}

EQUALITY = ("eq", "ne", "in", "not_in", "is_null", "not_null")
ORDER = ("gt", "gte", "lt", "lte", "between")
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "number": EQUALITY + ORDER,
    "text": EQUALITY,
    "choice": EQUALITY,
    "set": EQUALITY,
}
ALL_OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "is_null", "not_null")
LIST_OPS = ("in", "not_in")
NO_VALUE_OPS = ("is_null", "not_null")
GROUP_KEYS = ("all", "any", "not")
CONDITION_KEYS = ("field", "op", "value")
MAX_DEPTH = 32  # deeper nesting is certainly a mistake, and would exhaust the stack


class RuleError(ValueError):
    """An invalid rule; `errors` lists every problem as '<path>: <message>'."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def check_rule(rule, path: str = "rule") -> None:
    """Raises RuleError listing every problem when `rule` is invalid."""
    errors = validate_rule(rule, path)
    if errors:
        raise RuleError(errors)


def validate_rule(rule, path: str = "rule") -> list[str]:
    """Every problem of a rule, each as '<path>: <message>'. An empty list means valid."""
    return _validate(rule, path, 0)


def describe_value(value) -> str:
    """A value as error messages quote it: 'text', null, true, a list, an object, 42."""
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


def _keys(keys) -> str:
    keys = sorted(keys, key=str)
    return f"key{'s' if len(keys) > 1 else ''} {', '.join(describe_value(k) for k in keys)}"


def _validate(rule, path: str, depth: int) -> list[str]:
    if depth > MAX_DEPTH:
        return [Problem(f"{path}", f"rule nested more than {MAX_DEPTH} levels deep")]
    if not isinstance(rule, dict):
        return [
            Problem(
                path,
                f'expected a rule object ({{"all": [...]}}, {{"any": [...]}}, {{"not": {{...}}}} '
                f'or {{"field", "op", "value"}}), got {describe_value(rule)}',
            )
        ]
    groups = [k for k in GROUP_KEYS if k in rule]
    if not groups:
        return _validate_condition(rule, path)
    if len(groups) > 1:
        return [Problem(f"{path}", f"a group has exactly one of all, any, not; got {', '.join(groups)}")]
    key = groups[0]
    extra = set(rule) - {key}
    errors = [Problem(path, f"unknown {_keys(extra)} beside '{key}' (a group has only '{key}')")] if extra else []
    if key == "not":
        child = rule["not"]
        if isinstance(child, list):
            return [
                *errors,
                Problem(f"{path}.not", '\'not\' wraps one rule (an object), got a list; use {"not": {"any": [...]}}'),
            ]
        return errors + _validate(child, f"{path}.not", depth + 1)
    children = rule[key]
    if not isinstance(children, list):
        return [*errors, Problem(f"{path}.{key}", f"expected a list of rules, got {describe_value(children)}")]
    if not children:
        return [*errors, Problem(f"{path}.{key}", "empty group; list at least one rule")]
    for i, child in enumerate(children):
        errors.extend(_validate(child, f"{path}.{key}[{i}]", depth + 1))
    return errors


def _validate_condition(cond: dict, path: str) -> list[str]:
    errors = []
    unknown = set(cond) - set(CONDITION_KEYS)
    if unknown:
        errors.append(Problem(f"{path}", f"unknown {_keys(unknown)} (a condition has field, op, value)"))
    missing = [k for k in ("field", "op") if k not in cond]
    if missing:
        return [*errors, Problem(f"{path}", f"a condition needs {' and '.join(missing)}")]
    name, op = cond["field"], cond["op"]
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        return [*errors, Problem(f"{path}", f"unknown field {describe_value(name)}")]
    if not isinstance(op, str) or op not in ALL_OPS:
        return [
            *errors,
            Problem(f"{path}.op", f"unknown op {describe_value(op)} for field '{name}' (one of {', '.join(ALL_OPS)})"),
        ]
    if op not in OPS_BY_KIND[spec.kind]:
        return [
            *errors,
            Problem(
                f"{path}.op",
                f"op '{op}' is not supported for {spec.kind} field '{name}' "
                f"(use one of {', '.join(OPS_BY_KIND[spec.kind])})",
            ),
        ]
    return errors + _validate_value(spec, op, cond, f"{path}.value")


def _validate_value(spec: FieldSpec, op: str, cond: dict, where: str) -> list[str]:
    name = spec.name
    if op in NO_VALUE_OPS:
        if cond.get("value") is not None:
            return [
                Problem(f"{where}", f"op '{op}' on field '{name}' takes no value, got {describe_value(cond['value'])}")
            ]
        return []
    if "value" not in cond:
        return [Problem(f"{where}", f"op '{op}' on field '{name}' needs a value")]
    value = cond["value"]
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            return [
                Problem(f"{where}", f"op '{op}' on field '{name}' needs a non-empty list, got {describe_value(value)}")
            ]
        errors = []
        for i, item in enumerate(value):
            errors.extend(_check_scalar(spec, item, f"{where}[{i}]"))
        return errors
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            return [Problem(f"{where}", f"'between' on field '{name}' needs [low, high], got {describe_value(value)}")]
        errors = _check_scalar(spec, value[0], f"{where}[0]") + _check_scalar(spec, value[1], f"{where}[1]")
        if not errors and value[0] > value[1]:
            errors.append(
                Problem(f"{where}", f"'between' on field '{name}' needs low ≤ high, got [{value[0]}, {value[1]}]")
            )
        return errors
    return _check_scalar(spec, value, where)


def _check_scalar(spec: FieldSpec, value, where: str) -> list[str]:
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return [Problem(f"{where}", f"expected a number, got {describe_value(value)} for field '{spec.name}'")]
        return []
    if not isinstance(value, str) or not value.strip():
        return [Problem(f"{where}", f"expected text, got {describe_value(value)} for field '{spec.name}'")]
    if "\x00" in value:
        return [Problem(f"{where}", f"text for field '{spec.name}' contains a NUL character")]
    if spec.choices and value.lower() not in spec.choices:
        return [Problem(f"{where}", f"{describe_value(value)} is not a {spec.name} (one of {', '.join(spec.choices)})")]
    return []


VALUE_LABELS = {
    "health_band": {"healthy": "Healthy", "neutral": "Neutral", "at_risk": "At risk", "unknown": "Unknown"},
    "persona": {"executive": "Executive", "manager": "Manager", "individual_contributor": "Individual contributor"},
}


def _words(field: str, value) -> str:
    if isinstance(value, list):
        items = [_words(field, v) for v in value]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    if isinstance(value, str):
        return VALUE_LABELS.get(field, {}).get(value.lower(), value)
    if field == "arr" and isinstance(value, int | float):
        return f"${value:,.0f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe_rule(rule, depth: int = 0) -> str:
    """A rule in plain words, e.g. "Health band is At risk and days to renewal is 0–90"."""
    text = _describe(rule, depth)
    return text[:1].upper() + text[1:] if depth == 0 else text


def _describe(rule, depth: int) -> str:
    if "all" in rule or "any" in rule:
        key = "all" if "all" in rule else "any"
        joined = f" {'and' if key == 'all' else 'or'} ".join(_describe(r, depth + 1) for r in rule[key])
        return f"({joined})" if depth and len(rule[key]) > 1 else joined
    if "not" in rule:
        return f"not ({_describe(rule['not'], depth + 1)})"
    field, op, value = rule["field"], rule["op"], rule.get("value")
    spec = FIELDS.get(field)
    label = spec.label if spec and spec.label else field.replace("_", " ").capitalize()
    if depth:
        label = label[:1].lower() + label[1:] if not label[:2].isupper() else label
    if field == "use_case":
        verbs = {"eq": "runs", "in": "runs", "ne": "runs none of", "not_in": "runs none of"}
        if op == "is_null":
            return "runs no use case"
        if op == "not_null":
            return "runs at least one use case"
        return f"{verbs[op]} {_words(field, value)}"
    if op == "is_null":
        return f"{label} is empty"
    if op == "not_null":
        return f"{label} is set"
    if op == "between":
        return f"{label} is {_words(field, value[0])}–{_words(field, value[1])}"
    words = {
        "eq": "is",
        "ne": "is not",
        "gt": "is above",
        "gte": "is at least",
        "lt": "is below",
        "lte": "is at most",
        "in": "is",
        "not_in": "is not",
    }
    return f"{label} {words[op]} {_words(field, value)}"
