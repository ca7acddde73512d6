"""Validation of the configuration document (SPEC §4.4): every error with its JSON path.

Nothing here writes. `validate_document` returns a list of "<path>: <message>" strings, all of
them at once (a document with three typos gets three lines, not one per attempt). It checks the
shape (unknown keys, missing keys, types, what the database columns can hold), the rules of each
kind (thresholds, weights, rule grammar…), references between objects (to the document or to the
database) and, with `prune`, whether what would be deleted is still in use.
"""

import math
import re
from collections import Counter
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db.models.functions import Lower
from django.utils.text import slugify

from accounts.models import Account, AccountUseCase, Feature, StatedDriver, Tier, UsageDaily, UseCase, Vertical
from core.errors import Problem
from health.metrics_catalog import METRICS
from health.models import DEFAULT_AT_RISK_BELOW, DEFAULT_HEALTHY_AT, Scorecard
from people.models import User
from plays import secrets as play_secrets
from plays.models import Play, Priority
from plays.triggers import TRIGGER_PARAMS
from plays.wording import unknown_placeholders
from segments.models import Segment, TouchModel
from segments.rules import BANDS, describe_value, validate_rule

NUMBER = "number"
INTEGER = "integer"
TEXT = "text"
BOOL = "boolean"
LIST = "list"
OBJECT = "object"
OPTIONAL_TEXT = "text or null"
OPTIONAL_OBJECT = "object or null"
OPTIONAL_LIST = "list or null"

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
        "plays": (LIST, False),
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
    "plays": {
        "name": (TEXT, True),
        "active": (BOOL, False),
        "trigger": (OBJECT, True),
        "condition": (OPTIONAL_OBJECT, False),
        "cooldown_days": (INTEGER, False),
        "task": (OPTIONAL_OBJECT, False),
        "notify": (OPTIONAL_LIST, False),
        "webhook": (OPTIONAL_OBJECT, False),
    },
    "play_task": {
        "title": (TEXT, True),
        "body": (TEXT, False),
        "assignee": (TEXT, False),
        "due_in_days": (INTEGER, False),
        "priority": (TEXT, False),
    },
    "play_webhook": {"url": (TEXT, True), "secret": (TEXT, True)},
}
TOUCH_MODELS = tuple(TouchModel.values)
KINDS = ("verticals", "use_cases", "features", "tiers", "scorecards", "segments", "journeys", "plays")

# What the columns hold: longest text, and (digits, decimal places) of decimals, integer ranges.
MAX_LENGTH = {
    ("verticals", "name"): 120,
    ("use_cases", "name"): 120,
    ("features", "key"): 80,
    ("features", "name"): 120,
    ("tiers", "name"): 80,
    ("scorecards", "name"): 120,
    ("segments", "name"): 120,
    ("stages", "name"): 120,
    ("plays", "name"): 120,
    ("play_task", "title"): 300,
    ("play_task", "assignee"): 200,
    ("play_webhook", "url"): 500,
    ("play_webhook", "secret"): 200,
}
DECIMALS = {
    ("tiers", "min_arr"): (14, 2),
    ("measures", "weight"): (8, 3),
    ("measures", "red"): (14, 3),
    ("measures", "green"): (14, 3),
}
INT_RANGE = {
    ("document", "version"): (-(2**31), 2**31 - 1),
    ("scorecards", "healthy_at"): (0, 100),
    ("scorecards", "at_risk_below"): (0, 100),
    ("segments", "priority"): (-(2**31), 2**31 - 1),
    ("stages", "min_events_90d"): (0, 2**31 - 1),
    ("plays", "cooldown_days"): (0, 3650),
    ("play_task", "due_in_days"): (0, 365),
}
FEATURE_KEY = re.compile(r"^[-a-zA-Z0-9_]+$")


def _type_ok(value, expected: str) -> bool:
    if expected == NUMBER:
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool) and math.isfinite(value)
    if expected == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == TEXT:
        return isinstance(value, str)
    if expected == OPTIONAL_TEXT:
        return value is None or isinstance(value, str)
    if expected == OPTIONAL_OBJECT:
        return value is None or isinstance(value, dict)
    if expected == OPTIONAL_LIST:
        return value is None or isinstance(value, list)
    if expected == BOOL:
        return isinstance(value, bool)
    if expected == LIST:
        return isinstance(value, list)
    return isinstance(value, dict)


def _value_errors(kind: str, key: str, value, expected: str, required: bool) -> str | None:
    """Beyond the type: emptiness, NUL characters, lengths, ranges, decimal places."""
    if isinstance(value, str):
        if "\x00" in value:
            return "must not contain NUL characters"
        if expected == TEXT and required and not value.strip():
            return "must not be empty"
        limit = MAX_LENGTH.get((kind, key))
        if limit and len(value.strip()) > limit:
            return f"at most {limit} characters, got {len(value.strip())}"
    if (kind, key) in INT_RANGE:
        low, high = INT_RANGE[(kind, key)]
        if high - low <= 1000 and not low <= value <= high:
            return f"must be between {low} and {high}, got {value}"
        if value < low:
            return f"must be ≥ {low}, got {value}"
        if value > high:
            return f"must be ≤ {high}, got {value}"
    if (kind, key) in DECIMALS:
        digits, places = DECIMALS[(kind, key)]
        exact = Decimal(str(value))
        if exact.as_tuple().exponent < -places:
            return f"at most {places} decimal places, got {value}"
        if abs(exact) >= 10 ** (digits - places):
            return f"must be below {10 ** (digits - places):,} in size, got {value}"
    return None


def check_shape(obj, kind: str, path: str, errors: list[str]) -> bool:
    """Unknown keys, missing keys, wrong types and unstorable values; True when `obj` can be checked further."""
    if not isinstance(obj, dict):
        errors.append(Problem(f"{path or '$'}", f"expected an object, got {describe_value(obj)}"))
        return False
    shape = SHAPES[kind]
    ok = True

    def at(key):
        return f"{path}.{key}" if path else str(key)

    for key in obj:
        if key not in shape:
            errors.append(Problem(f"{at(key)}", f"unknown key (expected one of {', '.join(shape)})"))
            ok = False
    for key, (expected, required) in shape.items():
        if key not in obj:
            if required:
                errors.append(Problem(f"{at(key)}", "required"))
                ok = False
        elif not _type_ok(obj[key], expected):
            article = "an" if expected in (INTEGER, OBJECT, OPTIONAL_OBJECT) else "a"
            errors.append(Problem(f"{at(key)}", f"expected {article} {expected}, got {describe_value(obj[key])}"))
            ok = False
        else:
            problem = _value_errors(kind, key, obj[key], expected, required)
            if problem:
                errors.append(Problem(f"{at(key)}", f"{problem}"))
                ok = False
    return ok


def _lower_names(model, field="name") -> set[str]:
    return set(model.objects.annotate(k=Lower(field)).values_list("k", flat=True))


def _norm(name: str) -> str:
    return name.strip().lower()


def validate_document(doc, *, prune: bool = False) -> list[str]:
    """Every error of the document as '<path>: <message>'; an empty list means it can be applied."""
    errors: list[str] = []
    if not isinstance(doc, dict):
        return [Problem("$", f"expected a JSON object with version, {', '.join(KINDS)}; got {describe_value(doc)}")]
    check_shape(doc, "document", "", errors)
    if isinstance(doc.get("version"), int) and not isinstance(doc["version"], bool) and doc["version"] != 1:
        errors.append(Problem("version", f"unsupported version {doc['version']} (this CS Portal reads version 1)"))

    items: dict[str, list[tuple[str, dict]]] = {}
    for kind in KINDS:
        items[kind] = []
        listed = doc.get(kind)
        for i, obj in enumerate(listed if isinstance(listed, list) else []):
            path = f"{kind}[{i}]"
            if check_shape(obj, kind, path, errors):
                items[kind].append((path, obj))

    # References may name objects already in the database, unless --prune is about to delete them.
    verticals = (set() if prune else _lower_names(Vertical)) | {_norm(o["name"]) for _, o in items["verticals"]}
    use_cases = (set() if prune else _lower_names(UseCase)) | {_norm(o["name"]) for _, o in items["use_cases"]}
    features = (set() if prune else _lower_names(Feature, "key")) | {_norm(o["key"]) for _, o in items["features"]}

    for kind, key in [
        ("verticals", "name"),
        ("use_cases", "name"),
        ("features", "key"),
        ("tiers", "name"),
        ("scorecards", "name"),
        ("segments", "name"),
        ("plays", "name"),
    ]:
        seen: dict[str, str] = {}
        for path, obj in items[kind]:
            name = _norm(obj[key])
            if name in seen:
                errors.append(Problem(f"{path}.{key}", f"'{obj[key]}' is already defined at {seen[name]}"))
            seen.setdefault(name, path)
    _validate_slugs(Vertical, items["verticals"], "x", prune, errors)
    _validate_slugs(UseCase, items["use_cases"], "x", prune, errors)
    _validate_slugs(Segment, items["segments"], "segment", prune, errors)

    for path, obj in items["features"]:
        if not FEATURE_KEY.match(obj["key"].strip()):
            errors.append(Problem(f"{path}.key", f"'{obj['key']}' must be ASCII letters, digits, '_' or '-'"))
    _validate_tiers(items["tiers"], prune, errors)
    _validate_scorecards(items["scorecards"], verticals, use_cases, prune, errors)
    _validate_segments(items["segments"], errors)
    _validate_journeys(items["journeys"], verticals, use_cases, features, errors)
    segments = (set() if prune else _lower_names(Segment)) | {_norm(o["name"]) for _, o in items["segments"]}
    _validate_plays(items["plays"], segments, errors)
    if prune:
        errors.extend(_prune_blockers(items))
    return errors


def _validate_slugs(model, items, fallback: str, prune: bool, errors: list[str]) -> None:
    """New objects get a slug from their name: two names must not share one (URLs would clash)."""
    existing = {o.name.lower(): o for o in model.objects.only("name", "slug")}
    if prune:  # objects the document leaves out are deleted before anything is created
        keep = {_norm(o["name"]) for _, o in items}
        existing = {name: o for name, o in existing.items() if name in keep}
    taken = {o.slug: f"the existing '{o.name}'" for o in existing.values()}
    for path, obj in items:
        name = _norm(obj["name"])
        if name in existing:
            continue
        slug = slugify(obj["name"].strip())[:140] or fallback
        if slug in taken:
            errors.append(
                Problem(f"{path}.name", f"'{obj['name']}' has the same URL slug '{slug}' as {taken[slug]}; rename one")
            )
        taken.setdefault(slug, path)


def _validate_tiers(tiers, prune: bool, errors: list[str]) -> None:
    seen_arr: dict[Decimal, str] = {}
    if not prune:  # tiers left alone keep their min_arr, which is unique
        in_doc = {_norm(o["name"]) for _, o in tiers}
        for tier in Tier.objects.all():
            if tier.name.lower() not in in_doc:
                seen_arr[tier.min_arr] = f"the existing tier '{tier.name}'"
    for path, obj in tiers:
        min_arr = Decimal(str(obj["min_arr"]))
        if min_arr < 0:
            errors.append(Problem(f"{path}.min_arr", f"must be ≥ 0, got {obj['min_arr']}"))
        if min_arr in seen_arr:
            errors.append(Problem(f"{path}.min_arr", f"{obj['min_arr']} is already the minimum of {seen_arr[min_arr]}"))
        seen_arr.setdefault(min_arr, path)


def _ref(value, known: set[str], what: str, where: str, errors: list[str]) -> None:
    if value is not None and _norm(value) not in known:
        errors.append(
            Problem(
                f"{where}", f"unknown {what} '{value}' (define it under {what.replace(' ', '_')}s or import it first)"
            )
        )


def _validate_scorecards(scorecards, verticals, use_cases, prune: bool, errors: list[str]) -> None:
    scopes: dict[tuple, str] = {}
    if not prune:  # with --prune the scorecards the document leaves out are deleted
        in_doc = {_norm(o["name"]) for _, o in scorecards}
        for sc in Scorecard.objects.filter(active=True).select_related("vertical", "use_case"):
            if sc.name.lower() not in in_doc:
                scope = (
                    sc.vertical.name.lower() if sc.vertical else None,
                    sc.use_case.name.lower() if sc.use_case else None,
                )
                scopes[scope] = f"the existing scorecard '{sc.name}'"
    for path, sc in scorecards:
        _ref(sc.get("vertical"), verticals, "vertical", f"{path}.vertical", errors)
        _ref(sc.get("use_case"), use_cases, "use case", f"{path}.use_case", errors)
        healthy_at, at_risk_below = (
            sc.get("healthy_at", DEFAULT_HEALTHY_AT),
            sc.get("at_risk_below", DEFAULT_AT_RISK_BELOW),
        )
        if 0 <= at_risk_below <= 100 and 0 <= healthy_at <= 100 and at_risk_below > healthy_at:
            errors.append(Problem(f"{path}.at_risk_below", f"{at_risk_below} is above healthy_at {healthy_at}"))
        if not sc["measures"]:
            errors.append(Problem(f"{path}.measures", "a scorecard needs at least one measure"))
        metrics_seen: dict[str, str] = {}
        for j, measure in enumerate(sc["measures"]):
            mpath = f"{path}.measures[{j}]"
            if not check_shape(measure, "measures", mpath, errors):
                continue
            metric = measure["metric"]
            if metric not in METRICS:
                errors.append(Problem(f"{mpath}.metric", f"unknown metric '{metric}' (one of {', '.join(METRICS)})"))
            elif metric in metrics_seen:
                errors.append(Problem(f"{mpath}.metric", f"'{metric}' is already measured at {metrics_seen[metric]}"))
            metrics_seen.setdefault(metric, mpath)
            if measure.get("weight", 1) <= 0:
                errors.append(Problem(f"{mpath}.weight", f"must be greater than 0, got {measure['weight']}"))
            if measure["red"] == measure["green"]:
                errors.append(Problem(f"{mpath}.green", f"must differ from red ({measure['red']})"))
        if sc.get("active", True):
            scope = tuple(_norm(v) if isinstance(v, str) else None for v in (sc.get("vertical"), sc.get("use_case")))
            if scope in scopes:
                errors.append(
                    Problem(
                        f"{path}",
                        f"another active scorecard has the same scope ({scopes[scope]}); "
                        "make one inactive or change its vertical / use case",
                    )
                )
            scopes.setdefault(scope, path)


def _validate_segments(segments, errors: list[str]) -> None:
    for path, seg in segments:
        touch = seg.get("touch_model")
        if touch not in (None, "", *TOUCH_MODELS):
            errors.append(
                Problem(f"{path}.touch_model", f"'{touch}' is not one of {', '.join(TOUCH_MODELS)} (or empty)")
            )
        errors.extend(validate_rule(seg["rule"], f"{path}.rule"))


def _validate_journeys(journeys, verticals, use_cases, features, errors: list[str]) -> None:
    seen: dict[tuple, str] = {}
    for path, journey in journeys:
        _ref(journey["vertical"], verticals, "vertical", f"{path}.vertical", errors)
        _ref(journey["use_case"], use_cases, "use case", f"{path}.use_case", errors)
        scope = (_norm(journey["vertical"]), _norm(journey["use_case"]))
        if scope in seen:
            errors.append(
                Problem(
                    f"{path}",
                    f"a journey for {journey['vertical']} / {journey['use_case']} is already defined at {seen[scope]}",
                )
            )
        seen.setdefault(scope, path)
        if not journey["stages"]:
            errors.append(Problem(f"{path}.stages", "a journey needs at least one stage"))
        names: dict[str, str] = {}
        for j, stage in enumerate(journey["stages"]):
            spath = f"{path}.stages[{j}]"
            if not check_shape(stage, "stages", spath, errors):
                continue
            name = _norm(stage["name"])
            if name in names:
                errors.append(
                    Problem(f"{spath}.name", f"'{stage['name']}' is already a stage of this journey at {names[name]}")
                )
            names.setdefault(name, spath)
            if not stage["features"]:
                errors.append(Problem(f"{spath}.features", "a stage needs at least one feature"))
            for k, key in enumerate(stage["features"]):
                if not isinstance(key, str) or _norm(key) not in features:
                    errors.append(Problem(f"{spath}.features[{k}]", f"unknown feature {describe_value(key)}"))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _prune_blockers(items) -> list[str]:
    """With --prune, objects the document leaves out are deleted: refuse where data still uses them."""
    errors = []
    keep = {_norm(o["name"]) for _, o in items["verticals"]}
    doomed = [v for v in Vertical.objects.all() if v.name.lower() not in keep]
    counts = Counter(Account.objects.filter(vertical__in=doomed).values_list("vertical_id", flat=True))
    for vertical in doomed:
        if counts[vertical.pk]:
            errors.append(
                Problem(
                    "verticals",
                    f"cannot prune '{vertical.name}': {_plural(counts[vertical.pk], 'account is', 'accounts are')} "
                    "in it (add it back to the document or move the accounts first)",
                )
            )
    keep = {_norm(o["name"]) for _, o in items["use_cases"]}
    doomed = [u for u in UseCase.objects.all() if u.name.lower() not in keep]
    running = AccountUseCase.objects.filter(use_case__in=doomed).values_list("account_id", "use_case_id")
    primary = Account.objects.filter(primary_use_case__in=doomed).values_list("pk", "primary_use_case_id")
    counts = Counter(use_case for _, use_case in {*running, *primary})
    for use_case in doomed:
        if counts[use_case.pk]:
            errors.append(
                Problem(
                    "use_cases",
                    f"cannot prune '{use_case.name}': {_plural(counts[use_case.pk], 'account runs', 'accounts run')} "
                    "it (add it back to the document)",
                )
            )
    keep = {_norm(o["key"]) for _, o in items["features"]}
    doomed = [f for f in Feature.objects.all() if f.key.lower() not in keep]
    if doomed:
        used = set(UsageDaily.objects.filter(feature__in=doomed).values_list("feature_id", flat=True).distinct())
        used |= set(StatedDriver.objects.filter(feature__in=doomed).values_list("feature_id", flat=True))
        for feature in doomed:
            if feature.pk in used:
                errors.append(
                    Problem(
                        "features",
                        f"cannot prune '{feature.key}': usage or stated drivers refer to it (add it back to the document)",
                    )
                )
    return errors


def _validate_trigger(trigger: dict, segments: set[str], path: str, errors: list[str]) -> None:
    kind = trigger.get("type")
    if kind not in TRIGGER_PARAMS:
        if "type" not in trigger:
            errors.append(Problem(f"{path}.type", f"required (one of {', '.join(TRIGGER_PARAMS)})"))
        else:
            errors.append(
                Problem(
                    f"{path}.type", f"unknown trigger type {describe_value(kind)} (one of {', '.join(TRIGGER_PARAMS)})"
                )
            )
        return
    param, expected = TRIGGER_PARAMS[kind]
    allowed = {"type", param} - {None}
    for key in trigger:
        if key not in allowed:
            errors.append(
                Problem(f"{path}.{key}", f"unknown key for trigger '{kind}' (expected {', '.join(sorted(allowed))})")
            )
    if param is None:
        return
    if param not in trigger:
        errors.append(Problem(f"{path}.{param}", f"required for trigger '{kind}'"))
        return
    value = trigger[param]
    where = f"{path}.{param}"
    if expected == "text":
        if not isinstance(value, str) or not value.strip():
            errors.append(Problem(f"{where}", f"expected a segment name, got {describe_value(value)}"))
        elif _norm(value) not in segments:
            errors.append(
                Problem(f"{where}", f"unknown segment '{value}' (define it under segments or create it first)")
            )
    elif expected == "band":
        if not isinstance(value, str) or value.lower() not in BANDS:
            errors.append(Problem(f"{where}", f"{describe_value(value)} is not a band (one of {', '.join(BANDS)})"))
    elif not isinstance(value, int) or isinstance(value, bool):
        errors.append(Problem(f"{where}", f"expected an integer, got {describe_value(value)}"))
    elif kind == "score_dropped" and not 1 <= value <= 100:
        errors.append(Problem(f"{where}", f"must be between 1 and 100, got {value}"))
    elif kind == "renewal_within" and not 0 <= value <= 3650:
        errors.append(Problem(f"{where}", f"must be between 0 and 3650, got {value}"))


def _validate_assignee(value: str, where: str, errors: list[str]) -> None:
    rule = value.strip()
    if rule == "owner":
        return
    if rule.startswith("user:"):
        email = rule[5:].strip()
        if not User.objects.filter(email__iexact=email, is_active=True).exists():
            errors.append(Problem(f"{where}", f"no active team member has the email '{email}'"))
        return
    if rule.startswith("group:"):
        name = rule[6:].strip()
        if not Group.objects.filter(name__iexact=name).exists():
            errors.append(Problem(f"{where}", f"unknown group '{name}'"))
        return
    errors.append(
        Problem(f"{where}", f"{describe_value(value)} is not an assignee (owner, user:<email> or group:<group name>)")
    )


def _apprise_url(channel: str) -> bool:
    """Apprise knows the URL's scheme and can parse it."""
    # Imported here: Apprise loads its plugins (~0.1 s), which only a document naming a chat
    # channel needs, not every process that loads the admin.
    import apprise  # noqa: PLC0415

    return apprise.Apprise.instantiate(channel) is not None


def _validate_plays(plays, segments: set[str], errors: list[str]) -> None:
    stored = {p.name.lower(): p for p in Play.objects.all()}
    for path, play in plays:
        old = stored.get(_norm(play["name"]))
        _validate_trigger(play["trigger"], segments, f"{path}.trigger", errors)
        if play.get("condition") is not None:
            errors.extend(validate_rule(play["condition"], f"{path}.condition"))
        task = play.get("task")
        if task is not None and check_shape(task, "play_task", f"{path}.task", errors):
            for key in ("title", "body"):
                for placeholder in unknown_placeholders(task.get(key, "")):
                    errors.append(Problem(f"{path}.task.{key}", f"unknown placeholder {placeholder}"))
            if "assignee" in task:
                _validate_assignee(task["assignee"], f"{path}.task.assignee", errors)
            if task.get("priority", "normal") not in Priority.values:
                errors.append(
                    Problem(
                        f"{path}.task.priority",
                        f"{describe_value(task['priority'])} is not one of {', '.join(Priority.values)}",
                    )
                )
        for i, channel in enumerate(play.get("notify") or []):
            where = f"{path}.notify[{i}]"
            if not isinstance(channel, str) or not channel.strip():
                errors.append(Problem(f"{where}", f"expected 'email' or an Apprise URL, got {describe_value(channel)}"))
            elif channel == "email":
                continue
            elif play_secrets.MASKED_URL.match(channel):
                if old is None or play_secrets.unmask_channel(channel, old.notify) is None:
                    errors.append(
                        Problem(
                            f"{where}",
                            f"'{channel}' stands for a stored URL, but this play has none like it; write the URL",
                        )
                    )
            elif len(channel) > 2000 or not _apprise_url(channel):
                errors.append(
                    Problem(
                        f"{where}",
                        f"{describe_value(channel[:80])} is neither 'email' nor an Apprise URL Apprise understands",
                    )
                )
        webhook = play.get("webhook")
        if webhook is not None and check_shape(webhook, "play_webhook", f"{path}.webhook", errors):
            url = webhook["url"].strip()
            if not re.match(r"^https?://[^\s/]+", url):
                errors.append(
                    Problem(f"{path}.webhook.url", f"expected an http(s) URL, got {describe_value(url[:80])}")
                )
            if play_secrets.is_masked(webhook["secret"]):
                if (
                    old is None
                    or not old.webhook_secret
                    or play_secrets.mask_secret(old.webhook_secret) not in (webhook["secret"], play_secrets.MASK)
                ):
                    errors.append(
                        Problem(
                            f"{path}.webhook.secret",
                            "the placeholder keeps a stored secret, but this play has a different one or none; write the secret",
                        )
                    )
            elif len(webhook["secret"]) < 8:
                errors.append(
                    Problem(f"{path}.webhook.secret", "at least 8 characters (the receiver checks the HMAC with it)")
                )
        if not play.get("task") and not play.get("notify") and not play.get("webhook"):
            errors.append(Problem(f"{path}", "a play needs an action: a task, notify channels or a webhook"))
