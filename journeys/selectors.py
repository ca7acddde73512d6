"""Reads over journeys: their stages, in order. The funnels and the stuck accounts are dashboard
figures read from the day's rollup (dashboards.journeys)."""

from journeys.models import Journey, Stage


def journeys_with_stages(*, vertical=None) -> list[tuple[Journey, list[tuple[int, str]]]]:
    """Every journey (of `vertical`, when given), by vertical then use case name, with its stages
    as (id, name) in position order. Two queries."""
    journeys = Journey.objects.select_related("vertical", "use_case").order_by("vertical__name", "use_case__name")
    if vertical is not None:
        journeys = journeys.filter(vertical=vertical)
    journeys = list(journeys)
    by_journey: dict[int, list[tuple[int, str]]] = {}
    if journeys:
        stages = Stage.objects.filter(journey__in=journeys).order_by("journey_id", "position", "id")
        for journey_id, stage_id, name in stages.values_list("journey_id", "id", "name"):
            by_journey.setdefault(journey_id, []).append((stage_id, name))
    return [(journey, by_journey.get(journey.pk, [])) for journey in journeys]


def last_stage_ids() -> set[int]:
    """The id of each journey's last stage (an account there is done, never stuck). One query."""
    last_stage: dict[int, int] = {}
    for journey_id, stage_id in Stage.objects.order_by("journey_id", "position", "id").values_list("journey_id", "id"):
        last_stage[journey_id] = stage_id
    return set(last_stage.values())
