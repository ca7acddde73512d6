"""Cross-pollination (SPEC §7): the use cases a vertical's healthy accounts run that others do not.

"64% of healthy Education accounts also run Board meetings": a use case qualifies for a vertical
when at least `min_share`% of its healthy accounts (band healthy on the day, not churned) run it,
and only when there are at least `min_peers` healthy accounts, so two happy customers do not make
a pattern. The healthy peers per use case, and the scored accounts running each use case, come
from the day's VerticalDay rollup (written with the results); a day without one suggests nothing.
The rest is counted in SQL: a handful of queries whatever the number of accounts (one more per
qualifying use case for its top missing accounts, which is bounded by the use cases of the
vertical, not by its accounts).
"""

from datetime import date

from django.db.models import Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import Account, AccountUseCase, UseCase, Vertical
from dashboards.models import VerticalDay
from dashboards.rollups import UseCaseCounts, VerticalUseCaseCounts
from health.models import Band, HealthScore


def _rollup(vertical_id: int, day: date) -> VerticalDay | None:
    """The vertical's VerticalDay row of the day (written with the day's results), if any."""
    return (
        VerticalDay.objects.filter(vertical_id=vertical_id, day=day)
        .only("healthy", "accounts", "arr", "use_cases")
        .first()
    )


def _healthy_counts(
    rollup: VerticalDay, day: date, exclude_account: int | None, own_use_cases: set[int]
) -> tuple[int, dict[int, int]]:
    """(healthy accounts, {use case id: healthy accounts running it}) from the vertical's rollup row
    of the day. An account is not its own peer: when it is healthy that day, it is taken out of the
    total and of the use cases it runs (`own_use_cases`)."""
    total = rollup.healthy
    running = {
        pk: counts.healthy for pk, counts in VerticalUseCaseCounts.from_json(rollup.use_cases).by_use_case.items()
    }
    if (
        exclude_account is not None
        and HealthScore.objects.filter(account_id=exclude_account, as_of=day, band=Band.HEALTHY).exists()
    ):
        total -= 1
        for pk in own_use_cases:
            if pk in running:
                running[pk] -= 1
    return total, {pk: n for pk, n in running.items() if n > 0}


def _qualifying(
    rollup: VerticalDay, day: date, *, min_share: int, min_peers: int, exclude_account=None, own_use_cases=frozenset()
) -> list[dict]:
    """[{use_case_id, healthy_running, healthy_total}] for the use cases healthy peers run enough;
    `rollup` is the vertical's row of the day."""
    total, running = _healthy_counts(rollup, day, exclude_account, set(own_use_cases))
    if total == 0 or total < min_peers:
        return []
    # n / total ≥ min_share / 100, kept in integers so 30% of 10 is exactly 3.
    return [
        {"use_case_id": pk, "healthy_running": n, "healthy_total": total}
        for pk, n in running.items()
        if n * 100 >= min_share * total
    ]


def _share(running: int, total: int) -> int:
    """Percent, rounded half up (2 of 3 → 67)."""
    return (running * 200 + total) // (total * 2)


def talk_track(vertical_name: str, use_case_name: str, share: int) -> str:
    return (
        f"{share}% of healthy {vertical_name} accounts also run {use_case_name}: ask how they run "
        f"{use_case_name if use_case_name[:2].isupper() else use_case_name[:1].lower() + use_case_name[1:]} today and show how their healthy peers do it with us."
    )


def vertical_suggestions(
    vertical: Vertical, day: date | None, *, min_share: int = 30, min_peers: int = 5, limit: int = 20
) -> list[dict]:
    """Per qualifying use case of the vertical: the share of healthy accounts running it, how many
    active accounts of the vertical do not (and their ARR), the top `limit` of those by ARR and a
    talk track. Most widely run use case first."""
    if day is None:
        return []
    rollup = _rollup(vertical.pk, day)
    if rollup is None:
        return []
    qualifying = _qualifying(rollup, day, min_share=min_share, min_peers=min_peers)
    if not qualifying:
        return []
    use_case_ids = [q["use_case_id"] for q in qualifying]
    use_cases = {
        pk: (name, slug)
        for pk, name, slug in UseCase.objects.filter(pk__in=use_case_ids).values_list("pk", "name", "slug")
    }
    active = Account.objects.active_on(day).filter(vertical=vertical)
    # The day's scored accounts of the vertical and, per use case, those running it (from the rollup).
    running_active = VerticalUseCaseCounts.from_json(rollup.use_cases).by_use_case
    band = HealthScore.objects.filter(account=OuterRef("pk"), as_of=day).values("band")[:1]
    suggestions = []
    for q in qualifying:
        uc = q["use_case_id"]
        runs = running_active.get(uc, UseCaseCounts())
        missing = (
            # NOT EXISTS (an anti-join walking the (vertical, arr) index, largest first, and stopping
            # at `limit`), not NOT IN, which would first hash every account running the use case.
            active.exclude(Exists(AccountUseCase.objects.filter(account_id=OuterRef("pk"), use_case_id=uc)))
            .annotate(band_on_day=Coalesce(Subquery(band), Value(Band.UNKNOWN.value)))
            .order_by("-arr", "name", "pk")
            .values("pk", "name", "arr", "band_on_day")[:limit]
        )
        share = _share(q["healthy_running"], q["healthy_total"])
        name, slug = use_cases[uc]
        suggestions.append(
            {
                "use_case": name,
                "use_case_slug": slug,
                "share": share,
                "healthy_running": q["healthy_running"],
                "healthy_total": q["healthy_total"],
                "missing_count": rollup.accounts - runs.accounts,
                "missing_arr": rollup.arr - runs.arr,
                "accounts": [
                    {"id": m["pk"], "name": m["name"], "arr": m["arr"], "band": m["band_on_day"]} for m in missing
                ],
                "talk_track": talk_track(vertical.name, name, share),
            }
        )
    return sorted(suggestions, key=lambda s: (-s["share"], s["use_case"]))


def account_suggestions(account: Account, day: date | None, *, min_share: int = 30, min_peers: int = 5) -> list[dict]:
    """The use cases the account's healthy peers (other accounts of its vertical) run enough and it
    does not: {use_case, use_case_slug, share, healthy_running, healthy_total, talk_track}."""
    if day is None or account.is_churned(day):
        return []
    rollup = _rollup(account.vertical_id, day)
    if rollup is None:
        return []
    runs = set(AccountUseCase.objects.filter(account=account).values_list("use_case_id", flat=True))
    qualifying = _qualifying(
        rollup, day, min_share=min_share, min_peers=min_peers, exclude_account=account.pk, own_use_cases=runs
    )
    if not qualifying:
        return []
    wanted = [q for q in qualifying if q["use_case_id"] not in runs]
    use_cases = {u.pk: u for u in UseCase.objects.filter(pk__in=[q["use_case_id"] for q in wanted])}
    vertical_name = account.vertical.name
    suggestions = []
    for q in wanted:
        uc = use_cases[q["use_case_id"]]
        share = _share(q["healthy_running"], q["healthy_total"])
        suggestions.append(
            {
                "use_case": uc.name,
                "use_case_slug": uc.slug,
                "share": share,
                "healthy_running": q["healthy_running"],
                "healthy_total": q["healthy_total"],
                "talk_track": talk_track(vertical_name, uc.name, share),
            }
        )
    return sorted(suggestions, key=lambda s: (-s["share"], s["use_case"]))


__all__ = ["account_suggestions", "talk_track", "vertical_suggestions"]
