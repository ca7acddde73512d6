"""Configuration as code (SPEC §4.4): export the rules as one JSON document, apply one back.

`config_apply` validates the whole document first (configuration/validation.py) and writes
nothing unless all of it is valid; then, in one transaction:

- with `prune`, objects the document leaves out are deleted first (validation has refused any
  still in use), so the names, slugs and tier minimums the document takes over are free;
- every object is upserted by name, ignoring case (features by key, journeys by vertical + use
  case). An optional key left out takes its default (description "", active true, weight 1,
  healthy_at 70, at_risk_below 40, priority 0, touch_model none, min_events_90d 1), as in the
  admin. Only objects that differ are written, so re-applying a document touches nothing;
- a scorecard's measures are replaced by the listed ones; a journey's stages too, except that
  stages are matched by name and kept, because each day's results point at them.

`config_export` is ordered by name (features by key, journeys by vertical then use case,
tiers by min_arr from the highest, as tiers read), measures and stages by position, with numbers
as int when whole else float, so `export | apply` reports nothing to change.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from accounts.models import Feature, Tier, UseCase, Vertical
from configuration.audit import audit_record
from configuration.models import AuditEntry
from configuration.validation import KINDS, validate_document
from core.errors import Problem
from health.models import DEFAULT_AT_RISK_BELOW, DEFAULT_HEALTHY_AT, Measure, Scorecard
from journeys.models import Journey, Stage
from plays import secrets as play_secrets
from plays.models import Play
from segments.models import Segment


class ConfigInvalid(Exception):
    """The document has errors; `errors` lists each as '<path>: <message>'. Nothing was changed."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error(s) in the configuration")
        self.errors = errors


@dataclass
class ApplyReport:
    """What `config_apply` did (or, with dry_run, would do): names per kind and outcome."""

    dry_run: bool = False
    created: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, what: str, name: str) -> None:
        getattr(self, what).setdefault(kind, []).append(name)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or any(self.deleted.values())

    def lines(self) -> list[str]:
        """One line per kind and change ('scorecards: created 'Education''), then a summary."""
        prefix = "would be " if self.dry_run else ""
        out = []
        for kind in KINDS:
            for what in ("created", "updated", "deleted"):
                names = getattr(self, what).get(kind)
                if names:
                    out.append(f"{kind}: {prefix}{what} {', '.join(repr(n) for n in names)}")
        if not out:
            return ["nothing to change: the configuration already matches the document"]
        counts = [
            f"{sum(len(getattr(self, what).get(kind, [])) for kind in KINDS)} {what}"
            for what in ("created", "updated", "deleted", "unchanged")
        ]
        out.append(", ".join(counts))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _num(value):
    """Decimal/float → int when integral, else float: what JSON round-trips exactly."""
    if value is None:
        return None
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _vertical_dict(v: Vertical) -> dict:
    return {"name": v.name, "description": v.description}


def _feature_dict(f: Feature) -> dict:
    return {"key": f.key, "name": f.name}


def _tier_dict(t: Tier) -> dict:
    return {"name": t.name, "min_arr": _num(t.min_arr)}


def _scorecard_dict(sc: Scorecard) -> dict:
    return {
        "name": sc.name,
        "vertical": sc.vertical.name if sc.vertical else None,
        "use_case": sc.use_case.name if sc.use_case else None,
        "active": sc.active,
        "healthy_at": sc.healthy_at,
        "at_risk_below": sc.at_risk_below,
        "measures": [
            {"metric": m.metric, "weight": _num(m.weight), "red": _num(m.red), "green": _num(m.green)}
            for m in sc.measures.all()
        ],
    }


def _segment_dict(s: Segment) -> dict:
    return {
        "name": s.name,
        "description": s.description,
        "touch_model": s.touch_model or None,
        "priority": s.priority,
        "active": s.active,
        "rule": s.rule,
    }


def _journey_dict(j: Journey) -> dict:
    return {
        "vertical": j.vertical.name,
        "use_case": j.use_case.name,
        "stages": [
            {"name": st.name, "features": sorted(f.key for f in st.features.all()), "min_events_90d": st.min_events_90d}
            for st in j.stages.all()
        ],
    }


def _play_dict(p: Play) -> dict:
    """A play in the document form; secrets masked (plays.secrets)."""
    return {
        "name": p.name,
        "active": p.active,
        "trigger": dict(p.trigger),
        "condition": p.condition,
        "cooldown_days": p.cooldown_days,
        "task": {
            "title": p.task_title,
            "body": p.task_body,
            "assignee": p.task_assignee,
            "due_in_days": p.task_due_in_days,
            "priority": p.task_priority,
        }
        if p.creates_task
        else None,
        "notify": [play_secrets.mask_channel(c) for c in p.notify or []],
        "webhook": {"url": p.webhook_url, "secret": play_secrets.mask_secret(p.webhook_secret)}
        if p.webhook_url
        else None,
    }


def config_export() -> dict:
    """The whole configuration, in the order and form `config_apply` reads back unchanged."""
    return {
        "version": 1,
        "verticals": [_vertical_dict(v) for v in Vertical.objects.order_by("name")],
        "use_cases": [_vertical_dict(u) for u in UseCase.objects.order_by("name")],
        "features": [_feature_dict(f) for f in Feature.objects.order_by("key")],
        "tiers": [_tier_dict(t) for t in Tier.objects.order_by("-min_arr")],
        "scorecards": [
            _scorecard_dict(sc)
            for sc in Scorecard.objects.select_related("vertical", "use_case")
            .prefetch_related("measures")
            .order_by("name")
        ],
        "segments": [_segment_dict(s) for s in Segment.objects.order_by("name")],
        "journeys": [
            _journey_dict(j)
            for j in Journey.objects.select_related("vertical", "use_case")
            .prefetch_related("stages__features")
            .order_by("vertical__name", "use_case__name")
        ],
        "plays": [_play_dict(p) for p in Play.objects.order_by("name")],
    }


def config_apply(
    *,
    document: dict,
    dry_run: bool = False,
    prune: bool = False,
    actor=None,
    source: str | None = AuditEntry.Source.APPLY_CONFIG,
) -> ApplyReport:
    """Validates then applies `document` in one transaction.

    Raises ConfigInvalid (and changes nothing) when the document has any error. With `dry_run`
    the same writes run and are rolled back, so the report says exactly what would change.
    Every scorecard, segment and journey written or pruned gets an AuditEntry (by `actor`, from
    `source`) in the same transaction; `source=None` records nothing (a revert records its own).
    """
    report = ApplyReport(dry_run=dry_run)
    with transaction.atomic():
        # Validated inside the transaction: what was checked is what gets written.
        errors = validate_document(document, prune=prune)
        if errors:
            raise ConfigInvalid(errors)
        _Applier(document, report, prune, actor=actor, source=source).run()
        if dry_run:
            transaction.set_rollback(True)
    return report


def _label(journey: Journey) -> str:
    return f"{journey.vertical.name} / {journey.use_case.name}"


class _Applier:
    """Writes a validated document: prune first (so names, slugs and min_arr values the document
    takes over are free), then upserts kind by kind, writing only what differs."""

    def __init__(self, doc: dict, report: ApplyReport, prune: bool, *, actor=None, source: str | None = None):
        self.doc, self.report, self.prune = doc, report, prune
        self.actor, self.source = actor, source

    def _audit(self, kind: str, obj, name: str, before: dict | None, after: dict | None) -> None:
        if self.source is not None:
            audit_record(
                kind=kind, object_id=obj.pk, name=name, before=before, after=after, actor=self.actor, source=self.source
            )

    def items(self, kind: str) -> list[dict]:
        return self.doc.get(kind) or []

    def run(self) -> None:
        if self.prune:
            self._prune()
        self.verticals = self._upsert_named(Vertical, "verticals")
        self.use_cases = self._upsert_named(UseCase, "use_cases")
        self.features = self._upsert_features()
        self._upsert_tiers()
        self._upsert_scorecards()
        self._upsert_segments()
        self._upsert_journeys()
        self._upsert_plays()

    def _track(self, kind: str, name: str, before: dict | None, after: dict) -> bool:
        """Notes the outcome; True when the object must be written."""
        if before is None:
            self.report.note(kind, "created", name)
        elif before != after:
            self.report.note(kind, "updated", name)
        else:
            self.report.note(kind, "unchanged", name)
            return False
        return True

    def _upsert_named(self, model, kind: str) -> dict:
        existing = {o.name.lower(): o for o in model.objects.all()}
        for item in self.items(kind):
            name = item["name"].strip()
            obj = existing.get(name.lower())
            after = {"name": name, "description": item.get("description", "")}
            if self._track(kind, name, _vertical_dict(obj) if obj else None, after):
                obj = obj or model()
                obj.name, obj.description = after["name"], after["description"]
                obj.save()
                existing[name.lower()] = obj
        return existing

    def _upsert_features(self) -> dict[str, Feature]:
        existing = {f.key.lower(): f for f in Feature.objects.all()}
        for item in self.items("features"):
            key = item["key"].strip()
            obj = existing.get(key.lower())
            after = {"key": key, "name": item.get("name", "").strip() or key.replace("_", " ").capitalize()}
            if self._track("features", key, _feature_dict(obj) if obj else None, after):
                obj = obj or Feature()
                obj.key, obj.name = after["key"], after["name"]
                obj.save()
                existing[key.lower()] = obj
        return existing

    def _upsert_tiers(self) -> None:
        existing = {t.name.lower(): t for t in Tier.objects.all()}
        writes = []
        for item in self.items("tiers"):
            name = item["name"].strip()
            obj = existing.get(name.lower())
            after = {"name": name, "min_arr": _num(item["min_arr"])}
            if self._track("tiers", name, _tier_dict(obj) if obj else None, after):
                writes.append((obj or Tier(), after))
        # min_arr is unique: move the changing tiers out of the way first so swaps can't collide
        # (validation keeps every min_arr ≥ 0, so the negative placeholders are free).
        for obj, _ in writes:
            if obj.pk:
                Tier.objects.filter(pk=obj.pk).update(min_arr=-obj.pk)
        for obj, after in writes:
            obj.name, obj.min_arr = after["name"], Decimal(str(after["min_arr"]))
            obj.save()

    def _ref(self, objects: dict, name):
        return objects[name.strip().lower()] if name else None

    def _upsert_scorecards(self) -> None:
        existing = {
            s.name.lower(): s
            for s in Scorecard.objects.select_related("vertical", "use_case").prefetch_related("measures")
        }
        for item in self.items("scorecards"):
            name = item["name"].strip()
            sc = existing.get(name.lower())
            vertical, use_case = (
                self._ref(self.verticals, item.get("vertical")),
                self._ref(self.use_cases, item.get("use_case")),
            )
            measures = [
                {
                    "metric": m["metric"],
                    "weight": _num(m.get("weight", 1)),
                    "red": _num(m["red"]),
                    "green": _num(m["green"]),
                }
                for m in item["measures"]
            ]
            after = {
                "name": name,
                "vertical": vertical.name if vertical else None,
                "use_case": use_case.name if use_case else None,
                "active": item.get("active", True),
                "healthy_at": item.get("healthy_at", DEFAULT_HEALTHY_AT),
                "at_risk_below": item.get("at_risk_below", DEFAULT_AT_RISK_BELOW),
                "measures": measures,
            }
            before = _scorecard_dict(sc) if sc else None
            if not self._track("scorecards", name, before, after):
                continue
            sc = sc or Scorecard()
            sc.name, sc.vertical, sc.use_case, sc.active = name, vertical, use_case, after["active"]
            sc.healthy_at, sc.at_risk_below = after["healthy_at"], after["at_risk_below"]
            sc.save()
            if before is None or before["measures"] != measures:
                sc.measures.all().delete()
                Measure.objects.bulk_create(
                    Measure(
                        scorecard=sc,
                        metric=m["metric"],
                        weight=Decimal(str(m["weight"])),
                        red=Decimal(str(m["red"])),
                        green=Decimal(str(m["green"])),
                        position=i,
                    )
                    for i, m in enumerate(measures)
                )
            self._audit("scorecards", sc, name, before, after)

    def _upsert_segments(self) -> None:
        existing = {s.name.lower(): s for s in Segment.objects.all()}
        for item in self.items("segments"):
            name = item["name"].strip()
            seg = existing.get(name.lower())
            after = {
                "name": name,
                "description": item.get("description", ""),
                "touch_model": item.get("touch_model") or None,
                "priority": item.get("priority", 0),
                "active": item.get("active", True),
                "rule": item["rule"],
            }
            before = _segment_dict(seg) if seg else None
            if self._track("segments", name, before, after):
                seg = seg or Segment()
                seg.name, seg.description, seg.touch_model = name, after["description"], after["touch_model"] or ""
                seg.priority, seg.active, seg.rule = after["priority"], after["active"], after["rule"]
                seg.save()
                self._audit("segments", seg, name, before, after)

    def _upsert_journeys(self) -> None:
        journeys = Journey.objects.select_related("vertical", "use_case").prefetch_related("stages__features")
        existing = {(j.vertical_id, j.use_case_id): j for j in journeys}
        for item in self.items("journeys"):
            vertical, use_case = (
                self._ref(self.verticals, item["vertical"]),
                self._ref(self.use_cases, item["use_case"]),
            )
            journey = existing.get((vertical.pk, use_case.pk))
            stages = [
                {
                    "name": st["name"].strip(),
                    "features": sorted({self.features[k.strip().lower()].key for k in st["features"]}),
                    "min_events_90d": st.get("min_events_90d", 1),
                }
                for st in item["stages"]
            ]
            after = {"vertical": vertical.name, "use_case": use_case.name, "stages": stages}
            label = f"{vertical.name} / {use_case.name}"
            before = _journey_dict(journey) if journey else None
            if not self._track("journeys", label, before, after):
                continue
            journey = journey or Journey.objects.create(vertical=vertical, use_case=use_case)
            existing[(vertical.pk, use_case.pk)] = journey
            # Stages are matched by name and kept: the daily results point at them (journey_stage).
            old = {st.name.lower(): st for st in journey.stages.all()}
            for position, st in enumerate(stages):
                stage = old.pop(st["name"].lower(), None) or Stage(journey=journey)
                stage.name, stage.position, stage.min_events_90d = st["name"], position, st["min_events_90d"]
                stage.save()
                stage.features.set([self.features[k.lower()] for k in st["features"]])
            Stage.objects.filter(pk__in=[st.pk for st in old.values()]).delete()
            self._audit("journeys", journey, label, before, after)

    def _upsert_plays(self) -> None:
        existing = {p.name.lower(): p for p in Play.objects.all()}
        for item in self.items("plays"):
            name = item["name"].strip()
            play = existing.get(name.lower())
            trigger = {k: (v.strip() if isinstance(v, str) else v) for k, v in item["trigger"].items()}
            if trigger.get("type") == "band_became":
                trigger["band"] = trigger["band"].lower()
            task = item.get("task")
            if task is not None:
                task = {
                    "title": task["title"],
                    "body": task.get("body", ""),
                    "assignee": task.get("assignee", "owner").strip(),
                    "due_in_days": task.get("due_in_days", 3),
                    "priority": task.get("priority", "normal"),
                }
            stored_channels = play.notify if play else []
            channels = list(
                dict.fromkeys(play_secrets.unmask_channel(c.strip(), stored_channels) for c in item.get("notify") or [])
            )
            webhook = item.get("webhook")
            secret = ""
            if webhook is not None:
                secret = play.webhook_secret if play_secrets.is_masked(webhook["secret"]) else webhook["secret"]
            after = {
                "name": name,
                "active": item.get("active", True),
                "trigger": trigger,
                "condition": item.get("condition"),
                "cooldown_days": item.get("cooldown_days", 0),
                "task": task,
                "notify": [play_secrets.mask_channel(c) for c in channels],
                "webhook": {"url": webhook["url"].strip(), "secret": play_secrets.mask_secret(secret)}
                if webhook
                else None,
            }
            before = _play_dict(play) if play else None
            if not self._track("plays", name, before, after):
                continue
            play = play or Play()
            play.name, play.active, play.trigger, play.condition = name, after["active"], trigger, after["condition"]
            play.cooldown_days, play.creates_task, play.notify = after["cooldown_days"], task is not None, channels
            if task is not None:
                play.task_title, play.task_body, play.task_assignee = task["title"], task["body"], task["assignee"]
                play.task_due_in_days, play.task_priority = task["due_in_days"], task["priority"]
            play.webhook_url, play.webhook_secret = (webhook["url"].strip(), secret) if webhook else ("", "")
            play.save()
            existing[name.lower()] = play
            self._audit("plays", play, name, before, after)

    def _prune(self) -> None:
        def names(kind: str, key: str = "name") -> set[str]:
            return {o[key].strip().lower() for o in self.items(kind)}

        def drop(queryset, kind: str, keep: set, key=lambda o: o.name.lower(), label=lambda o: o.name):
            doomed = [obj for obj in queryset if key(obj) not in keep]
            for obj in doomed:
                self.report.note(kind, "deleted", label(obj))
                if kind in SNAPSHOTS:
                    self._audit(kind, obj, label(obj), SNAPSHOTS[kind][1](obj), None)
            queryset.model.objects.filter(pk__in=[o.pk for o in doomed]).delete()

        drop(
            Journey.objects.select_related("vertical", "use_case"),
            "journeys",
            {(j["vertical"].strip().lower(), j["use_case"].strip().lower()) for j in self.items("journeys")},
            key=lambda j: (j.vertical.name.lower(), j.use_case.name.lower()),
            label=_label,
        )
        drop(Play.objects.all(), "plays", names("plays"))
        drop(Segment.objects.all(), "segments", names("segments"))
        drop(Scorecard.objects.all(), "scorecards", names("scorecards"))
        drop(Tier.objects.all(), "tiers", names("tiers"))
        drop(
            Feature.objects.all(),
            "features",
            names("features", "key"),
            key=lambda f: f.key.lower(),
            label=lambda f: f.key,
        )
        drop(UseCase.objects.all(), "use_cases", names("use_cases"))
        drop(Vertical.objects.all(), "verticals", names("verticals"))


# kind → (queryset that loads what the document form needs, model → document form)
SNAPSHOTS = {
    "scorecards": (
        lambda: Scorecard.objects.select_related("vertical", "use_case").prefetch_related("measures"),
        _scorecard_dict,
    ),
    "segments": (lambda: Segment.objects.all(), _segment_dict),
    "journeys": (
        lambda: Journey.objects.select_related("vertical", "use_case").prefetch_related("stages__features"),
        _journey_dict,
    ),
    "plays": (lambda: Play.objects.all(), _play_dict),
}


def rule_snapshot(*, kind: str, pk) -> dict | None:
    """The saved scorecard, segment or journey `pk` in its document form (None if it doesn't exist)."""
    queryset, as_dict = SNAPSHOTS[kind]
    obj = queryset().filter(pk=pk).first()
    return as_dict(obj) if obj is not None else None


def rule_label(kind: str, snapshot: dict) -> str:
    return f"{snapshot['vertical']} / {snapshot['use_case']}" if kind == "journeys" else snapshot["name"]


class RevertImpossible(Exception):
    """The entry has no earlier state to go back to (it records a creation)."""


def audit_revert(*, entry: AuditEntry, actor, reason: str = "") -> AuditEntry | None:
    """Puts the object back as it was before `entry`'s change, through `config_apply`'s validation.

    The object is found by id, so a rename is undone too; a deleted object is created again.
    Records one new AuditEntry (source 'revert', with the admin's `reason`); returns it, or None
    when nothing differed.
    Raises ConfigInvalid (nothing changed) when the old state is no longer valid, e.g. its
    scope is now taken by another active scorecard.
    """
    if entry.before is None:
        raise RevertImpossible(f"'{entry.name}' was created by this change: delete it instead of reverting")
    kind, target = entry.kind, entry.before
    queryset, _ = SNAPSHOTS[kind]
    with transaction.atomic():
        obj = queryset().filter(pk=entry.object_id).first() if entry.object_id else None
        before = rule_snapshot(kind=kind, pk=obj.pk) if obj else None
        if obj is not None and kind != "journeys" and obj.name != target["name"]:
            if queryset().filter(name__iexact=target["name"]).exclude(pk=obj.pk).exists():
                raise ConfigInvalid(
                    [
                        Problem(
                            f"{kind}[0].name",
                            f"another {entry.get_kind_display().lower()} is now "
                            f"called '{target['name']}'; rename it first",
                        )
                    ]
                )
            type(obj).objects.filter(pk=obj.pk).update(name=target["name"])
        if obj is not None and kind == "journeys":
            # A journey is known by its vertical and use case: move it back to the old scope first.
            scope = Journey.objects.filter(
                vertical__name__iexact=target["vertical"], use_case__name__iexact=target["use_case"]
            )
            if scope.exclude(pk=obj.pk).exists():
                raise ConfigInvalid([Problem("journeys[0]", f"another journey now covers {rule_label(kind, target)}")])
            vertical = Vertical.objects.filter(name__iexact=target["vertical"]).first()
            use_case = UseCase.objects.filter(name__iexact=target["use_case"]).first()
            if vertical and use_case:
                Journey.objects.filter(pk=obj.pk).update(vertical=vertical, use_case=use_case)
        config_apply(document={"version": 1, kind: [target]}, source=None)
        saved = queryset().get(
            **(
                {"vertical__name__iexact": target["vertical"], "use_case__name__iexact": target["use_case"]}
                if kind == "journeys"
                else {"name__iexact": target["name"]}
            )
        )
        after = rule_snapshot(kind=kind, pk=saved.pk)
        if after == before:
            return None
        return audit_record(
            kind=kind,
            object_id=saved.pk,
            name=rule_label(kind, after),
            before=before,
            after=after,
            actor=actor,
            source=AuditEntry.Source.REVERT,
            reverted_from=entry,
            reason=reason,
        )
