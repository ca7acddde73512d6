"""Recording rule changes (AuditEntry) and reading them back as a before/after diff.

Entries are written where the change is written: `config_apply` (apply_config, the API, the
config file page, reverts) and the admin's save/delete of scorecards, segments and journeys.
"""

from configuration.models import AuditEntry
from health.metrics_catalog import METRICS
from health.models import Scorecard
from segments.rules import describe_rule


def audit_record(
    *,
    kind: str,
    object_id: int | None,
    name: str,
    before: dict | None,
    after: dict | None,
    actor=None,
    source: str,
    reverted_from: AuditEntry | None = None,
    reason: str = "",
) -> AuditEntry | None:
    """One entry for one changed object; nothing when `before` and `after` are the same."""
    if before == after:
        return None
    action = (
        AuditEntry.Action.CREATED
        if before is None
        else AuditEntry.Action.DELETED
        if after is None
        else AuditEntry.Action.UPDATED
    )
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    entry = AuditEntry.objects.create(
        kind=kind,
        object_id=object_id,
        name=name[:255],
        action=action,
        source=source,
        before=before,
        after=after,
        actor=actor,
        reverted_from=reverted_from,
        reason=reason,
    )
    if kind == AuditEntry.Kind.SCORECARDS and object_id is not None:
        Scorecard.objects.filter(pk=object_id).update(rules_changed_at=entry.created_at)
    return entry


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {_fmt(v)}" for k, v in value.items()) or "—"
    return str(value)


def _measure_words(m: dict) -> str:
    return f"weight {_fmt(m.get('weight', 1))}, red {_fmt(m['red'])}, green {_fmt(m['green'])}"


def _stage_words(st: dict) -> str:
    return f"features {_fmt(st['features'])}, at least {st.get('min_events_90d', 1)} events in 90 days"


def _by(items: list[dict], key: str) -> dict[str, tuple[int, dict]]:
    return {str(item[key]).lower(): (i, item) for i, item in enumerate(items or [])}


def diff_lines(kind: str, before: dict | None, after: dict | None) -> list[tuple[str, str, str]]:
    """(what, from, to) for each difference between two document-form snapshots, in plain words."""
    if before is None and after is None:
        return []
    if before is None or after is None:
        state = after if before is None else before
        lines = []
        for key, value in state.items():
            if key in ("measures", "stages"):
                for item in value:
                    label = METRICS[item["metric"]].label if key == "measures" and item["metric"] in METRICS else None
                    words = _measure_words(item) if key == "measures" else _stage_words(item)
                    what = f"measure {label or item['metric']}" if key == "measures" else f"stage {item['name']}"
                    lines.append((what, "—", words) if before is None else (what, words, "—"))
            else:
                shown = (describe_rule(value) if value else "—") if key in ("rule", "condition") else _fmt(value)
                what = key.replace("_", " ")
                lines.append((what, "—", shown) if before is None else (what, shown, "—"))
        return lines
    lines = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key == "measures":
            lines.extend(_list_diff("measure", old, new, "metric", _measure_words))
        elif key == "stages":
            lines.extend(_list_diff("stage", old, new, "name", _stage_words))
        elif key in ("rule", "condition"):
            lines.append((key, describe_rule(old) if old else "—", describe_rule(new) if new else "—"))
        else:
            lines.append((key.replace("_", " "), _fmt(old), _fmt(new)))
    return lines


def _list_diff(noun: str, old: list, new: list, key: str, words) -> list[tuple[str, str, str]]:
    old_by, new_by = _by(old, key), _by(new, key)
    lines = []
    for name, (i, item) in new_by.items():
        label = METRICS[item[key]].label if noun == "measure" and item[key] in METRICS else item[key]
        if name not in old_by:
            lines.append((f"{noun} {label}", "—", words(item)))
            continue
        j, previous = old_by[name]
        for field, value in item.items():
            if previous.get(field) != value:
                lines.append((f"{noun} {label}: {field.replace('_', ' ')}", _fmt(previous.get(field)), _fmt(value)))
        if i != j:
            lines.append((f"{noun} {label}: position", str(j + 1), str(i + 1)))
    for name, (_, item) in old_by.items():
        if name not in new_by:
            label = METRICS[item[key]].label if noun == "measure" and item[key] in METRICS else item[key]
            lines.append((f"{noun} {label}", words(item), "—"))
    return lines
