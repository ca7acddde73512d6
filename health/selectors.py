"""Reads of the health app: scorecards for the read-only pages and the scorecard preview of the admin."""

from datetime import date, datetime
from typing import NamedTuple

from django.db.models import Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery

from accounts.models import UsageDaily
from health.engine.scoring import ScorecardPlan, load_scorecards, score_account, scorecard_plan, select_scorecard
from health.metrics_catalog import METRICS
from health.models import CUSTOMER_BANDS, AccountMetrics, Band, HealthScore, Measure, PublishedDay, Scorecard
from health.services import METRIC_COLUMNS

PREVIEW_BANDS = CUSTOMER_BANDS


def results_day() -> date | None:
    """The latest date whose results are published (complete, rollups included): the default date
    of exports, pages and the API. None before anything was published."""
    return PublishedDay.objects.aggregate(d=Max("day"))["d"]


def published_day_before(day: date) -> date | None:
    """The latest published day before `day` (what a day's changes are measured against)."""
    return PublishedDay.objects.filter(day__lt=day).aggregate(d=Max("day"))["d"]


class BandMove(NamedTuple):
    """Accounts whose band went from `before` to `after` between two days; `before` is None for
    accounts without a result on the earlier day (new since)."""

    before: str | None
    after: str
    accounts: int

    @property
    def words(self) -> str:
        before = Band(self.before).label if self.before else "New account"
        return f"{before} → {Band(self.after).label}"


def band_moves(day: date, previous: date) -> list[BandMove]:
    """Band changes of the accounts from `previous` to `day`, counted per (band before, band after),
    most accounts first: one grouped query, whatever the number of accounts."""
    before = HealthScore.objects.filter(account_id=OuterRef("account_id"), as_of=previous).values("band")[:1]
    rows = (
        HealthScore.objects.filter(as_of=day)
        .annotate(before=Subquery(before))
        .filter(Q(before__isnull=True) | ~Q(before=F("band")))
        .values("before", "band")
        .annotate(accounts=Count("id"))
        .order_by("-accounts", "before", "band")
    )
    return [BandMove(r["before"], r["band"], r["accounts"]) for r in rows]


def scorecard_list() -> QuerySet[Scorecard]:
    """Every scorecard with its scope and measures (three queries, whatever the number of scorecards)."""
    return (
        Scorecard.objects.select_related("vertical", "use_case")
        .prefetch_related(Prefetch("measures", queryset=Measure.objects.order_by("position", "id")))
        .order_by("-active", "name")
    )


def measure_in_words(measure: Measure) -> dict:
    """A measure as plain words: what the metric means, which way is better, where it scores 0 and 100."""
    info = METRICS.get(measure.metric)
    higher = measure.green > measure.red
    return {
        "metric": measure.metric,
        "label": info.label if info else measure.metric,
        "meaning": info.meaning if info else "",
        "direction": "higher is better" if higher else "lower is better",
        "sentence": (
            f"0 points at {_plain(measure.red)} or {'less' if higher else 'more'}, "
            f"full points at {_plain(measure.green)} or {'more' if higher else 'less'}"
        ),
        "weight": _plain(measure.weight),
    }


def _plain(value) -> str:
    text = f"{value:f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:f}"
    return text or "0"


def draft_plan(draft: dict, scorecard_id: int | None) -> ScorecardPlan:
    """A scorecard being edited (plain values, measures as dicts) as a plan the engine can score with."""
    return scorecard_plan(
        id=scorecard_id or 0,
        name=draft.get("name") or "(unsaved)",
        vertical_id=draft.get("vertical_id"),
        use_case_id=draft.get("use_case_id"),
        healthy_at=draft["healthy_at"],
        at_risk_below=draft["at_risk_below"],
        measures=[(m["metric"], m["weight"], m["red"], m["green"]) for m in draft["measures"]],
    )


def _scope_filter(scopes) -> Q:
    query = Q(pk__in=[])
    for vertical_id, use_case_id in scopes:
        cond = Q()
        if vertical_id is not None:
            cond &= Q(account__vertical_id=vertical_id)
        if use_case_id is not None:
            cond &= Q(account__primary_use_case_id=use_case_id)
        query |= cond
    return query


def scorecard_preview(*, draft: dict, scorecard_id: int | None, limit: int = 10) -> dict:
    """What saving the edited scorecard would do to the bands, as of the latest results date.

    The accounts compared are those the scorecard would score (SPEC §5.2 selection) once saved,
    plus those it scores now: for each, the result under the saved rules vs the edited ones,
    scored in plain Python from that day's AccountMetrics (nothing is written). Churned and
    not-yet-started accounts are left out (their band is the same either way). Returns the band counts before and after
    and at most `limit` accounts whose band changes, the largest score moves first.
    Queries: four, whatever the number of accounts.
    """
    day = results_day()
    if day is None:
        return {"as_of": None}
    saved_plans = load_scorecards()
    own = next((p for p in saved_plans.values() if p.id == scorecard_id), None) if scorecard_id else None
    edited_plans = {scope: p for scope, p in saved_plans.items() if p is not own}
    edited = draft_plan(draft, scorecard_id)
    if draft.get("active", True):
        edited_plans[(edited.vertical_id, edited.use_case_id)] = edited
    scopes = {(p.vertical_id, p.use_case_id) for p in (own, edited if draft.get("active", True) else None) if p}
    rows = (
        AccountMetrics.objects.filter(as_of=day)
        .filter(_scope_filter(scopes))
        .exclude(account__churned_on__lte=day)
        .exclude(account__start_date__gt=day)
        .values("account_id", "account__name", "account__vertical_id", "account__primary_use_case_id", *METRIC_COLUMNS)
    )
    counts = {band: [0, 0] for band in PREVIEW_BANDS}
    changes = []
    accounts = 0
    for row in rows:
        vertical_id, use_case_id = row["account__vertical_id"], row["account__primary_use_case_id"]
        old_plan = select_scorecard(saved_plans, vertical_id, use_case_id)
        new_plan = select_scorecard(edited_plans, vertical_id, use_case_id)
        if (own is None or old_plan is not own) and new_plan is not edited:
            continue
        metrics = {key: row[key] for key in METRIC_COLUMNS}
        old, new = score_account(metrics, old_plan), score_account(metrics, new_plan)
        accounts += 1
        counts[old.band][0] += 1
        counts[new.band][1] += 1
        if old.band != new.band:
            changes.append(
                {
                    "id": row["account_id"],
                    "name": row["account__name"],
                    "old_score": old.score,
                    "old_band": Band(old.band).label,
                    "new_score": new.score,
                    "new_band": Band(new.band).label,
                    "old_scorecard": old_plan.name if old_plan else None,
                }
            )
    changes.sort(key=lambda c: (-abs((c["new_score"] or 0) - (c["old_score"] or 0)), c["name"]))
    return {
        "as_of": day,
        "accounts": accounts,
        "bands": [
            {"band": band, "label": Band(band).label, "saved": saved, "edited": new, "delta": new - saved}
            for band, (saved, new) in counts.items()
        ],
        "changed": len(changes),
        "changes": changes[:limit],
    }


class Freshness(NamedTuple):
    """When an account's figures were computed (SPEC §4.5): the row's computed_at, the time up to
    which the run had read every write (`inputs_through`), and the latest usage date it has."""

    computed_at: datetime | None
    inputs_through: datetime | None
    usage_through: date | None


def latest_usage_date(account_id: int, day: date) -> date | None:
    """The latest date up to `day` with a usage row of the account (the usage key, backwards)."""
    return UsageDaily.objects.filter(account_id=account_id, date__lte=day).aggregate(d=Max("date"))["d"]


def freshness_of(account_ids: list[int], day: date | None) -> dict[int, Freshness]:
    """{account id: Freshness} of `day`'s results for the given accounts (a page of them): two
    queries, whatever their number — the usage one walks the usage key (account, date) backwards."""
    if day is None or not account_ids:
        return {}
    scored = dict(
        (pk, (computed, inputs))
        for pk, computed, inputs in HealthScore.objects.filter(as_of=day, account_id__in=account_ids).values_list(
            "account_id", "computed_at", "inputs_through"
        )
    )
    latest = dict(
        UsageDaily.objects.filter(account_id__in=account_ids, date__lte=day)
        .values("account_id")
        .annotate(d=Max("date"))
        .order_by()
        .values_list("account_id", "d")
    )
    return {
        pk: Freshness(*scored.get(pk, (None, None)), latest.get(pk))
        for pk in account_ids
        if pk in scored or pk in latest
    }
