"""The segment rule grammar of SPEC §6: fields, the ops each supports, and validation.

A rule is `{"all": [R…]}`, `{"any": [R…]}`, `{"not": R}` or a condition
`{"field": F, "op": O, "value": V}`. Validation returns every problem as "<path>: <message>";
the compiler (segments/compiler.py) only ever sees valid rules.
"""

from dataclasses import dataclass

from health.metrics_catalog import METRICS


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "text", "number", "set" (use_case) or "choice" (fixed values)
    choices: tuple[str, ...] | None = None
    label: str = ""


BANDS = ("healthy", "neutral", "at_risk", "unknown")
PERSONAS = ("executive", "manager", "individual_contributor")

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
ALL_OPS = EQUALITY + ORDER
LIST_OPS = ("in", "not_in")
NO_VALUE_OPS = ("is_null", "not_null")


class RuleError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def check_rule(rule) -> None:
    errors = validate_rule(rule)
    if errors:
        raise RuleError(errors)


def validate_rule(rule, path: str = "rule") -> list[str]:
    """Every problem of a rule, each as '<path>: <message>'. An empty list means valid."""
    if not isinstance(rule, dict):
        return [f"{path}: expected an object ({{\"all\": [...]}}, {{\"any\": [...]}}, {{\"not\": ...}} or a condition)"]
    groups = [k for k in ("all", "any", "not") if k in rule]
    if groups:
        extra = sorted(set(rule) - {groups[0]})
        if extra:
            return [f"{path}: unexpected key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} beside '{groups[0]}'"]
        key = groups[0]
        if key == "not":
            return validate_rule(rule["not"], f"{path}.not")
        children = rule[key]
        if not isinstance(children, list) or not children:
            return [f"{path}.{key}: expected a non-empty list of rules"]
        errors = []
        for i, child in enumerate(children):
            errors.extend(validate_rule(child, f"{path}.{key}[{i}]"))
        return errors
    return _validate_condition(rule, path)


def _describe(value) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _validate_condition(cond: dict, path: str) -> list[str]:
    unknown = sorted(set(cond) - {"field", "op", "value"})
    if unknown:
        return [f"{path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} (a condition has field, op, value)"]
    if "field" not in cond or "op" not in cond:
        missing = [k for k in ("field", "op") if k not in cond]
        return [f"{path}: a condition needs {' and '.join(missing)}"]
    name, op = cond["field"], cond["op"]
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        return [f"{path}.field: unknown field {_describe(name)}"]
    if op not in ALL_OPS:
        return [f"{path}.op: unknown op {_describe(op)} for field '{name}' (one of {', '.join(ALL_OPS)})"]
    if op not in OPS_BY_KIND[spec.kind]:
        return [
            f"{path}.op: op '{op}' is not supported for {spec.kind} field '{name}' "
            f"(use one of {', '.join(OPS_BY_KIND[spec.kind])})"
        ]
    where = f"{path}.value"
    if op in NO_VALUE_OPS:
        if cond.get("value") is not None:
            return [f"{where}: op '{op}' on '{name}' takes no value"]
        return []
    if "value" not in cond:
        return [f"{where}: op '{op}' on '{name}' needs a value"]
    value = cond["value"]
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            return [f"{where}: op '{op}' on '{name}' needs a non-empty list"]
        errors = []
        for i, item in enumerate(value):
            errors.extend(_check_scalar(spec, item, f"{where}[{i}]"))
        return errors
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            return [f"{where}: 'between' on '{name}' needs [low, high]"]
        errors = _check_scalar(spec, value[0], f"{where}[0]") + _check_scalar(spec, value[1], f"{where}[1]")
        if not errors and value[0] > value[1]:
            errors.append(f"{where}: 'between' on '{name}' needs low ≤ high, got [{value[0]}, {value[1]}]")
        return errors
    return _check_scalar(spec, value, where)


def _check_scalar(spec: FieldSpec, value, where: str) -> list[str]:
    if spec.kind == "number":
        if not _is_number(value):
            return [f"{where}: '{spec.name}' compares numbers, got {_describe(value)}"]
        return []
    if not isinstance(value, str) or not value.strip():
        return [f"{where}: '{spec.name}' compares text, got {_describe(value)}"]
    if spec.choices and value.lower() not in spec.choices:
        return [f"{where}: {_describe(value)} is not a {spec.name} (one of {', '.join(spec.choices)})"]
    return []


def describe_rule(rule, depth: int = 0) -> str:
    """A rule as readable text, e.g. "vertical = 'Education' and health_band = 'at_risk'"."""
    if "all" in rule or "any" in rule:
        key = "all" if "all" in rule else "any"
        joined = f" {'and' if key == 'all' else 'or'} ".join(describe_rule(r, depth + 1) for r in rule[key])
        return f"({joined})" if depth and len(rule[key]) > 1 else joined
    if "not" in rule:
        return f"not {describe_rule(rule['not'], depth + 1)}"
    symbols = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "in": "in", "not_in": "not in"}
    field, op, value = rule["field"], rule["op"], rule.get("value")
    if op == "is_null":
        return f"{field} is empty"
    if op == "not_null":
        return f"{field} is set"
    if op == "between":
        return f"{field} between {value[0]} and {value[1]}"
    return f"{field} {symbols[op]} {value!r}"
