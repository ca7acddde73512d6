"""Validation of the configuration document (SPEC §4.4): every error with its JSON path.

Nothing here writes. `validate_document` returns a list of "<path>: <message>" strings.
"""

from decimal import Decimal

from django.db.models.functions import Lower

from accounts.models import Account, AccountUseCase, Feature, UsageDaily, UseCase, Vertical
from health.metrics_catalog import METRICS
from health.models import Scorecard
from segments.rules import validate_rule

NUMBER = "number"
INTEGER = "integer"
TEXT = "text"
BOOL = "boolean"
LIST = "list"
OBJECT = "object"
OPTIONAL_TEXT = "text or null"

# kind → {key: (type, required)}
SHAPES: dict[str, dict[str, tuple[str, bool]]] = {
    "document": {
        "version": (INTEGER, True),
        "verticals": (LIST, False),
        "use_cases": (LIST, False),
        "features": (LIST, False),
        "tiers": (LIST, False),
        "scorecards": (LIST, False),
        "segments": (LIST, False),
        "journeys": (LIST, False),
    },
    "verticals": {"name": (TEXT, True), "description": (TEXT, False)},
    "use_cases": {"name": (TEXT, True), "description": (TEXT, False)},
    "features": {"key": (TEXT, True), "name": (TEXT, False)},
    "tiers": {"name": (TEXT, True), "min_arr": (NUMBER, True)},
    "scorecards": {
        "name": (TEXT, True),
        "vertical": (OPTIONAL_TEXT, False),
        "use_case": (OPTIONAL_TEXT, False),
        "active": (BOOL, False),
        "healthy_at": (INTEGER, False),
        "at_risk_below": (INTEGER, False),
        "measures": (LIST, True),
    },
    "measures": {"metric": (TEXT, True), "weight": (NUMBER, False), "red": (NUMBER, True), "green": (NUMBER, True)},
    "segments": {
        "name": (TEXT, True),
        "description": (TEXT, False),
        "touch_model": (OPTIONAL_TEXT, False),
        "priority": (INTEGER, False),
        "active": (BOOL, False),
        "rule": (OBJECT, True),
    },
    "journeys": {"vertical": (TEXT, True), "use_case": (TEXT, True), "stages": (LIST, True)},
    "stages": {"name": (TEXT, True), "features": (LIST, True), "min_events_90d": (INTEGER, False)},
}
TOUCH_MODELS = ("high", "mid", "self_service")
KINDS = ("verticals", "use_cases", "features", "tiers", "scorecards", "segments", "journeys")


def _type_ok(value, expected: str) -> bool:
    if expected == NUMBER:
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    if expected == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == TEXT:
        return isinstance(value, str)
    if expected == OPTIONAL_TEXT:
        return value is None or isinstance(value, str)
    if expected == BOOL:
        return isinstance(value, bool)
    if expected == LIST:
        return isinstance(value, list)
    return isinstance(value, dict)


def check_shape(obj, kind: str, path: str, errors: list[str]) -> bool:
    """Unknown keys, missing keys and wrong types; True when the object can be checked further."""
    if not isinstance(obj, dict):
        errors.append(f"{path}: expected an object")
        return False
    shape = SHAPES[kind]
    ok = True

    def at(key):
        return f"{path}.{key}" if path else key

    for key in obj:
        if key not in shape:
            errors.append(f"{at(key)}: unknown key (expected one of {', '.join(shape)})")
            ok = False
    for key, (expected, required) in shape.items():
        if key not in obj:
            if required:
                errors.append(f"{at(key)}: required")
                ok = False
        elif not _type_ok(obj[key], expected):
            errors.append(f"{at(key)}: expected {'an' if expected == INTEGER else 'a'} {expected}, got {_show(obj[key])}")
            ok = False
        elif expected == TEXT and required and not obj[key].strip():
            errors.append(f"{at(key)}: must not be empty")
            ok = False
    return ok


def _show(value) -> str:
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
    return str(value)


def _names(model, field="name") -> set[str]:
    return set(model.objects.annotate(k=Lower(field)).values_list("k", flat=True))


def validate_document(doc, *, prune: bool = False) -> list[str]:
    errors: list[str] = []
    if not isinstance(doc, dict):
        return ["$: expected a JSON object with version, verticals, use_cases, features, tiers, scorecards, segments, journeys"]
    check_shape(doc, "document", "", errors)
    if isinstance(doc.get("version"), int) and doc["version"] != 1:
        errors.append(f"version: unsupported version {doc['version']} (this CS Portal reads version 1)")

    items: dict[str, list[tuple[str, dict]]] = {}
    for kind in KINDS:
        items[kind] = []
        listed = doc.get(kind)
        for i, obj in enumerate(listed if isinstance(listed, list) else []):
            path = f"{kind}[{i}]"
            if check_shape(obj, kind, path, errors):
                items[kind].append((path, obj))

    # References may name objects already in the database, unless --prune is about to delete them.
    verticals = (set() if prune else _names(Vertical)) | {o["name"].strip().lower() for _, o in items["verticals"]}
    use_cases = (set() if prune else _names(UseCase)) | {o["name"].strip().lower() for _, o in items["use_cases"]}
    features = (set() if prune else _names(Feature, "key")) | {o["key"].strip().lower() for _, o in items["features"]}

    for kind, key in [("verticals", "name"), ("use_cases", "name"), ("features", "key"), ("tiers", "name"),
                      ("scorecards", "name"), ("segments", "name")]:  # fmt: skip
        seen: dict[str, str] = {}
        for path, obj in items[kind]:
            name = obj[key].strip().lower()
            if name in seen:
                errors.append(f"{path}.{key}: '{obj[key]}' is already defined at {seen[name]}")
            seen.setdefault(name, path)

    for path, obj in items["features"]:
        key = obj["key"]
        if not key.replace("_", "").replace("-", "").isalnum() or key != key.strip():
            errors.append(f"{path}.key: '{key}' must be letters, digits, '_' or '-'")
    seen_arr: dict = {}
    for path, obj in items["tiers"]:
        if obj["min_arr"] < 0:
            errors.append(f"{path}.min_arr: must be ≥ 0, got {obj['min_arr']}")
        if obj["min_arr"] in seen_arr:
            errors.append(f"{path}.min_arr: {obj['min_arr']} is already the minimum of {seen_arr[obj['min_arr']]}")
        seen_arr.setdefault(obj["min_arr"], path)

    _validate_scorecards(items["scorecards"], verticals, use_cases, errors)
    _validate_segments(items["segments"], errors)
    _validate_journeys(items["journeys"], verticals, use_cases, features, errors)
    if prune and not errors:
        errors.extend(_prune_blockers(doc))
    return errors


def _ref(value, known: set[str], what: str, where: str, errors: list[str]) -> None:
    if value is not None and value.strip().lower() not in known:
        errors.append(f"{where}: unknown {what} '{value}' (define it under {what.replace(' ', '_')}s or import it first)")


def _validate_scorecards(scorecards, verticals, use_cases, errors) -> None:
    scopes: dict[tuple, str] = {}
    in_doc = {o["name"].strip().lower() for _, o in scorecards}
    for sc in Scorecard.objects.filter(active=True).select_related("vertical", "use_case"):
        if sc.name.lower() not in in_doc:
            scope = (sc.vertical.name.lower() if sc.vertical else None, sc.use_case.name.lower() if sc.use_case else None)
            scopes[scope] = f"the existing scorecard '{sc.name}'"
    for path, sc in scorecards:
        _ref(sc.get("vertical"), verticals, "vertical", f"{path}.vertical", errors)
        _ref(sc.get("use_case"), use_cases, "use case", f"{path}.use_case", errors)
        healthy_at, at_risk_below = sc.get("healthy_at", 70), sc.get("at_risk_below", 40)
        for key, value in (("healthy_at", healthy_at), ("at_risk_below", at_risk_below)):
            if isinstance(value, int) and not 0 <= value <= 100:
                errors.append(f"{path}.{key}: must be between 0 and 100, got {value}")
        if isinstance(healthy_at, int) and isinstance(at_risk_below, int) and at_risk_below > healthy_at:
            errors.append(f"{path}.at_risk_below: {at_risk_below} is above healthy_at {healthy_at}")
        if not sc["measures"]:
            errors.append(f"{path}.measures: a scorecard needs at least one measure")
        for j, measure in enumerate(sc["measures"]):
            mpath = f"{path}.measures[{j}]"
            if not check_shape(measure, "measures", mpath, errors):
                continue
            if measure["metric"] not in METRICS:
                errors.append(f"{mpath}.metric: unknown metric '{measure['metric']}' (one of {', '.join(METRICS)})")
            if measure.get("weight", 1) <= 0:
                errors.append(f"{mpath}.weight: must be greater than 0, got {measure['weight']}")
            if measure["red"] == measure["green"]:
                errors.append(f"{mpath}.green: must differ from red ({measure['red']})")
        if sc.get("active", True):
            scope = tuple(v.strip().lower() if isinstance(v, str) else None for v in (sc.get("vertical"), sc.get("use_case")))
            if scope in scopes:
                errors.append(
                    f"{path}: another active scorecard has the same scope ({scopes[scope]}); "
                    "make one inactive or change its vertical / use case"
                )
            scopes.setdefault(scope, path)


def _validate_segments(segments, errors) -> None:
    for path, seg in segments:
        touch = seg.get("touch_model")
        if touch not in (None, "", *TOUCH_MODELS):
            errors.append(f"{path}.touch_model: '{touch}' is not one of {', '.join(TOUCH_MODELS)} (or empty)")
        errors.extend(validate_rule(seg["rule"], f"{path}.rule"))


def _validate_journeys(journeys, verticals, use_cases, features, errors) -> None:
    seen: dict[tuple, str] = {}
    for path, journey in journeys:
        _ref(journey["vertical"], verticals, "vertical", f"{path}.vertical", errors)
        _ref(journey["use_case"], use_cases, "use case", f"{path}.use_case", errors)
        scope = (journey["vertical"].strip().lower(), journey["use_case"].strip().lower())
        if scope in seen:
            errors.append(f"{path}: a journey for {journey['vertical']} / {journey['use_case']} is already defined at {seen[scope]}")
        seen.setdefault(scope, path)
        if not journey["stages"]:
            errors.append(f"{path}.stages: a journey needs at least one stage")
        for j, stage in enumerate(journey["stages"]):
            spath = f"{path}.stages[{j}]"
            if not check_shape(stage, "stages", spath, errors):
                continue
            if not stage["features"]:
                errors.append(f"{spath}.features: a stage needs at least one feature")
            for k, key in enumerate(stage["features"]):
                if not isinstance(key, str) or key.strip().lower() not in features:
                    errors.append(f"{spath}.features[{k}]: unknown feature {_show(key)}")
            if stage.get("min_events_90d", 1) < 0:
                errors.append(f"{spath}.min_events_90d: must be ≥ 0, got {stage['min_events_90d']}")


def _prune_blockers(doc) -> list[str]:
    """With --prune, objects the document leaves out are deleted: refuse where data still uses them."""
    errors = []
    keep = {o["name"].strip().lower() for o in doc.get("verticals") or []}
    for vertical in Vertical.objects.all():
        if vertical.name.lower() not in keep:
            used = Account.objects.filter(vertical=vertical).count()
            if used:
                errors.append(f"verticals: cannot prune '{vertical.name}': {used} accounts are in it (add it back to the document)")
    keep = {o["name"].strip().lower() for o in doc.get("use_cases") or []}
    for use_case in UseCase.objects.all():
        if use_case.name.lower() not in keep:
            used = AccountUseCase.objects.filter(use_case=use_case).count()
            if used:
                errors.append(f"use_cases: cannot prune '{use_case.name}': {used} accounts run it (add it back to the document)")
    keep = {o["key"].strip().lower() for o in doc.get("features") or []}
    for feature in Feature.objects.all():
        if feature.key.lower() not in keep and (
            UsageDaily.objects.filter(feature=feature).exists() or feature.stated_drivers.exists()
        ):
            errors.append(f"features: cannot prune '{feature.key}': usage or stated drivers refer to it (add it back to the document)")
    return errors
