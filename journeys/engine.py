"""Journey stages (SPEC §7): reached stages, the current stage and journey_progress."""

from dataclasses import dataclass
from fractions import Fraction

from journeys.models import Journey


@dataclass(frozen=True)
class StagePlan:
    stage_id: int
    name: str
    feature_ids: tuple[int, ...]
    min_events_90d: int


def load_journeys() -> dict[tuple[int, int], list[StagePlan]]:
    """(vertical id, use case id) → ordered stages; two queries whatever the number of journeys."""
    plans: dict[tuple[int, int], list[StagePlan]] = {}
    for journey in Journey.objects.prefetch_related("stages__features"):
        plans[(journey.vertical_id, journey.use_case_id)] = [
            StagePlan(s.pk, s.name, tuple(sorted(f.pk for f in s.features.all())), s.min_events_90d)
            for s in journey.stages.all()
        ]
    return plans


def journey_features(plans: dict) -> list[int]:
    return sorted({f for stages in plans.values() for s in stages for f in s.feature_ids})


def journey_position(stages: list[StagePlan], feature_events_90d: dict[int, int]) -> tuple[StagePlan | None, Fraction]:
    """The last stage reached with every stage before it reached too, and the progress in %.

    A stage is reached when each of its features has at least `min_events_90d` events in the
    90-day window. No stage reached: (None, 0).
    """
    current = None
    reached = 0
    for stage in stages:
        if all(feature_events_90d.get(f, 0) >= stage.min_events_90d for f in stage.feature_ids):
            current, reached = stage, reached + 1
        else:
            break
    return current, Fraction(100 * reached, len(stages)) if stages else Fraction(0)
