"""Configuration as code (SPEC §4.4): export the rules as one JSON document, apply one back.

`config_apply` validates the whole document first and writes nothing unless all of it is valid;
then it upserts by name (features by key, journeys by vertical + use case) in one transaction.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from accounts.models import Feature, Tier, UseCase, Vertical
from configuration.validation import KINDS, validate_document
from health.models import Measure, Scorecard
from journeys.models import Journey, Stage
from segments.models import Segment


class ConfigInvalid(Exception):
    """The document has errors; `errors` lists each as '<path>: <message>'. Nothing was changed."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error(s) in the configuration")
        self.errors = errors


@dataclass
class ApplyReport:
    dry_run: bool = False
    created: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def note(self, kind: str, what: str, name: str) -> None:
        getattr(self, what).setdefault(kind, []).append(name)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or any(self.deleted.values())

    def lines(self) -> list[str]:
        prefix = "would be " if self.dry_run else ""
        out = []
        for kind in KINDS:
            for what in ("created", "updated", "deleted"):
                names = getattr(self, what).get(kind)
                if names:
                    out.append(f"{kind}: {prefix}{what} {', '.join(repr(n) for n in names)}")
        if not out:
            out.append("nothing to change: the configuration already matches the document")
        return out


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
    }


def config_apply(*, document: dict, dry_run: bool = False, prune: bool = False) -> ApplyReport:
    """Validates then applies `document`; raises ConfigInvalid (nothing changed) on any error."""
    errors = validate_document(document, prune=prune)
    if errors:
        raise ConfigInvalid(errors)
    report = ApplyReport(dry_run=dry_run)
    with transaction.atomic():
        _Applier(document, report, prune).run()
        if dry_run:
            transaction.set_rollback(True)
    return report


class _Applier:
    def __init__(self, doc: dict, report: ApplyReport, prune: bool):
        self.doc, self.report, self.prune = doc, report, prune

    def run(self) -> None:
        self.verticals = self._upsert_named(Vertical, "verticals", _vertical_dict)
        self.use_cases = self._upsert_named(UseCase, "use_cases", _vertical_dict)
        self.features = self._upsert_features()
        self._upsert_tiers()
        self._upsert_scorecards()
        self._upsert_segments()
        self._upsert_journeys()
        if self.prune:
            self._prune()

    def _track(self, kind: str, name: str, before: dict | None, after: dict) -> None:
        if before is None:
            self.report.note(kind, "created", name)
        elif before != after:
            self.report.note(kind, "updated", name)
        else:
            self.report.unchanged[kind] = self.report.unchanged.get(kind, 0) + 1

    def _upsert_named(self, model, kind: str, as_dict) -> dict[str, object]:
        existing = {o.name.lower(): o for o in model.objects.all()}
        for item in self.doc.get(kind) or []:
            name = item["name"].strip()
            obj = existing.get(name.lower())
            before = as_dict(obj) if obj else None
            obj = obj or model(name=name)
            obj.name, obj.description = name, item.get("description", "")
            obj.save()
            existing[name.lower()] = obj
            self._track(kind, name, before, as_dict(obj))
        return existing

    def _upsert_features(self) -> dict[str, Feature]:
        existing = {f.key.lower(): f for f in Feature.objects.all()}
        for item in self.doc.get("features") or []:
            key = item["key"].strip()
            obj = existing.get(key.lower())
            before = _feature_dict(obj) if obj else None
            obj = obj or Feature(key=key)
            obj.name = item.get("name") or key.replace("_", " ").capitalize()
            obj.save()
            existing[key.lower()] = obj
            self._track("features", key, before, _feature_dict(obj))
        return existing

    def _upsert_tiers(self) -> None:
        existing = {t.name.lower(): t for t in Tier.objects.all()}
        items = self.doc.get("tiers") or []
        # min_arr is unique: move the tiers out of the way first so swaps between tiers can't collide.
        for item in items:
            obj = existing.get(item["name"].strip().lower())
            if obj:
                Tier.objects.filter(pk=obj.pk).update(min_arr=-obj.pk)
        for item in items:
            name = item["name"].strip()
            obj = existing.get(name.lower())
            before = _tier_dict(obj) if obj else None
            obj = obj or Tier(name=name)
            obj.name, obj.min_arr = name, Decimal(str(item["min_arr"]))
            obj.save()
            obj.refresh_from_db()
            self._track("tiers", name, before, _tier_dict(obj))

    def _ref(self, objects: dict, name):
        return objects[name.strip().lower()] if name else None

    def _upsert_scorecards(self) -> None:
        existing = {s.name.lower(): s for s in Scorecard.objects.select_related("vertical", "use_case")}
        # Deactivate first, so that moving a scope from one scorecard to another never trips the
        # "one active scorecard per scope" rule halfway through.
        for item in self.doc.get("scorecards") or []:
            sc = existing.get(item["name"].strip().lower())
            if sc and not item.get("active", True):
                Scorecard.objects.filter(pk=sc.pk).update(active=False)
        for item in self.doc.get("scorecards") or []:
            name = item["name"].strip()
            sc = existing.get(name.lower())
            before = _scorecard_dict(sc) if sc else None
            sc = sc or Scorecard(name=name)
            sc.name = name
            sc.vertical = self._ref(self.verticals, item.get("vertical"))
            sc.use_case = self._ref(self.use_cases, item.get("use_case"))
            sc.active = item.get("active", True)
            sc.healthy_at = item.get("healthy_at", 70)
            sc.at_risk_below = item.get("at_risk_below", 40)
            sc.save()
            sc.measures.all().delete()
            Measure.objects.bulk_create(
                Measure(
                    scorecard=sc,
                    metric=m["metric"],
                    weight=Decimal(str(m.get("weight", 1))),
                    red=Decimal(str(m["red"])),
                    green=Decimal(str(m["green"])),
                    position=i,
                )
                for i, m in enumerate(item["measures"])
            )
            sc = Scorecard.objects.select_related("vertical", "use_case").get(pk=sc.pk)
            self._track("scorecards", name, before, _scorecard_dict(sc))

    def _upsert_segments(self) -> None:
        existing = {s.name.lower(): s for s in Segment.objects.all()}
        for item in self.doc.get("segments") or []:
            name = item["name"].strip()
            seg = existing.get(name.lower())
            before = _segment_dict(seg) if seg else None
            seg = seg or Segment(name=name)
            seg.name = name
            seg.description = item.get("description", "")
            seg.touch_model = item.get("touch_model") or ""
            seg.priority = item.get("priority", 0)
            seg.active = item.get("active", True)
            seg.rule = item["rule"]
            seg.save()
            self._track("segments", name, before, _segment_dict(seg))

    def _upsert_journeys(self) -> None:
        journeys = Journey.objects.select_related("vertical", "use_case").prefetch_related("stages__features")
        existing = {(j.vertical_id, j.use_case_id): j for j in journeys}
        for item in self.doc.get("journeys") or []:
            vertical, use_case = self._ref(self.verticals, item["vertical"]), self._ref(self.use_cases, item["use_case"])
            journey = existing.get((vertical.pk, use_case.pk))
            before = _journey_dict(journey) if journey else None
            journey = journey or Journey.objects.create(vertical=vertical, use_case=use_case)
            journey.stages.all().delete()
            for position, st in enumerate(item["stages"]):
                stage = Stage.objects.create(
                    journey=journey, name=st["name"].strip(), position=position, min_events_90d=st.get("min_events_90d", 1)
                )
                stage.features.set([self.features[k.strip().lower()] for k in st["features"]])
            journey = journeys.get(pk=journey.pk)
            self._track("journeys", f"{vertical.name} / {use_case.name}", before, _journey_dict(journey))
            existing[(vertical.pk, use_case.pk)] = journey

    def _prune(self) -> None:
        doc = self.doc

        def drop(queryset, kind: str, keep: set, key=lambda o: o.name.lower(), label=lambda o: o.name):
            for obj in queryset:
                if key(obj) not in keep:
                    self.report.note(kind, "deleted", label(obj))
                    obj.delete()

        drop(
            Journey.objects.select_related("vertical", "use_case"),
            "journeys",
            {(j["vertical"].strip().lower(), j["use_case"].strip().lower()) for j in doc.get("journeys") or []},
            key=lambda j: (j.vertical.name.lower(), j.use_case.name.lower()),
            label=str,
        )
        drop(Segment.objects.all(), "segments", {s["name"].strip().lower() for s in doc.get("segments") or []})
        drop(Scorecard.objects.all(), "scorecards", {s["name"].strip().lower() for s in doc.get("scorecards") or []})
        drop(Tier.objects.all(), "tiers", {t["name"].strip().lower() for t in doc.get("tiers") or []})
        drop(
            Feature.objects.all(),
            "features",
            {f["key"].strip().lower() for f in doc.get("features") or []},
            key=lambda f: f.key.lower(),
            label=lambda f: f.key,
        )
        drop(UseCase.objects.all(), "use_cases", {u["name"].strip().lower() for u in doc.get("use_cases") or []})
        drop(Vertical.objects.all(), "verticals", {v["name"].strip().lower() for v in doc.get("verticals") or []})
