"""Is the score predictive? The backtest of SPEC §8, computed set-based from the stored daily results.

A handful of queries whatever the number of accounts and dates: the published days, one GROUP BY
over the observations (scorecard, vertical, band, score, churned → count, ARR on the day), the
names of scorecards and verticals and, with `compare`, one GROUP BY over the stored metrics of the
observations (each distinct combination of the compared scorecard's metrics is scored once).

Choices where SPEC §8 is silent (documented in the API schema too):

- rates, AUC and lift are exact fractions rounded to 4 places, halves up; lift is computed from the
  exact rates, not the rounded ones;
- a band with no observation has no churn rate (None), so lift is None when `at_risk` or `healthy`
  has no observation, and when the healthy rate is 0;
- ARR figures are JSON numbers (int when whole, else float with cents);
- without `compare` the report's `compare` is None;
- too little history (no observation date, or no churned observation) adds an `error` key with a
  sentence saying so; with no observation date the lists are empty and `overall` is None;
- an observation whose scorecard has since been deleted counts in `overall` and `verticals` but in
  no `scorecards` row (it has no name to report);
- with `compare`, an observation without stored metrics that day, or without a value for any of
  the compared scorecard's measures (no score), is left out of `compare_auc`.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from accounts.models import ArrChange, Vertical
from health.engine.scoring import ScorecardPlan, score_account, scorecard_plan
from health.models import AccountMetrics, HealthScore, PublishedDay, Scorecard

BANDS = ("healthy", "neutral", "at_risk")
DEFAULT_HORIZON = 90
DEFAULT_STEP = 30


@dataclass(frozen=True)
class BacktestParams:
    date_from: date | None = None
    date_to: date | None = None
    horizon: int = DEFAULT_HORIZON
    step: int = DEFAULT_STEP
    compare: str | None = None  # a scorecard name


# ---------------------------------------------------------------------------------------------
# Dates


def published_days() -> list[date]:
    """Every date with published results (PublishedDay, written last by each publish), oldest first."""
    return list(PublishedDay.objects.order_by("day").values_list("day", flat=True))


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite returns text


def observation_dates(days: list[date], params: BacktestParams) -> list[date]:
    """SPEC §8: the published dates in [from, to], the first and then each next one at least
    `step` days after the previous, keeping only dates d with d + horizon ≤ latest."""
    if not days:
        return []
    latest = days[-1]
    chosen: list[date] = []
    for d in days:
        if params.date_from and d < params.date_from:
            continue
        if params.date_to and d > params.date_to:
            break
        if d + timedelta(days=params.horizon) > latest:
            break  # dates ascend: no later date qualifies either
        if not chosen or (d - chosen[-1]).days >= params.step:
            chosen.append(d)
    return chosen


# ---------------------------------------------------------------------------------------------
# Figures


def _round4(x: Fraction | None) -> float | None:
    if x is None:
        return None
    return float(Decimal(x.numerator / Decimal(x.denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _money(value) -> int | float:
    value = Decimal(value or 0).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(value) if value == value.to_integral_value() else float(value)


class Tally:
    """Observations of one group: per band the counts and ARR, per score the churned/retained counts."""

    def __init__(self):
        self.bands = {band: [0, 0, Decimal(0), Decimal(0)] for band in BANDS}  # obs, churned, arr, arr_churned
        self.scores: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # score → [churned, retained]

    def add(self, *, band: str, score: int | None, churned: bool, n: int, arr) -> None:
        cell = self.bands[band]
        cell[0] += n
        cell[2] += arr or 0
        if churned:
            cell[1] += n
            cell[3] += arr or 0
        if score is not None:
            self.scores[score][0 if churned else 1] += n

    def rate(self, band: str) -> Fraction | None:
        observations, churned = self.bands[band][:2]
        return Fraction(churned, observations) if observations else None

    def lift(self) -> Fraction | None:
        at_risk, healthy = self.rate("at_risk"), self.rate("healthy")
        if at_risk is None or not healthy:
            return None
        return at_risk / healthy

    def figures(self) -> dict:
        return {
            "auc": _round4(auc(self.scores)),
            "lift": _round4(self.lift()),
            "bands": {
                band: {
                    "observations": obs,
                    "churned": churned,
                    "churn_rate": _round4(self.rate(band)),
                    "arr": _money(arr),
                    "arr_churned": _money(arr_churned),
                }
                for band, (obs, churned, arr, arr_churned) in self.bands.items()
            },
        }


def auc(scores: dict[int, list[int]]) -> Fraction | None:
    """Mann–Whitney: P(a churned observation scores lower than a retained one), ties count ½.

    `scores` maps a score to [churned, retained] counts; exact, over the score groups.
    None without a churned or without a retained observation.
    """
    churned_total = sum(c for c, _ in scores.values())
    retained_total = sum(r for _, r in scores.values())
    if not churned_total or not retained_total:
        return None
    wins = Fraction(0)
    retained_above = retained_total
    for score in sorted(scores):
        churned, retained = scores[score]
        retained_above -= retained
        wins += churned * retained_above + Fraction(churned * retained, 2)
    return wins / (churned_total * retained_total)


def _observations(dates: list[date], horizon: int):
    """HealthScore rows of the observations (band healthy, neutral or at risk on an observation date)
    with `churned` (the outcome) and `arr_on_day` annotated."""
    arr_history = ArrChange.objects.filter(account_id=OuterRef("account_id"))
    arr_on_day = Coalesce(
        Subquery(arr_history.filter(date__lte=OuterRef("as_of")).order_by("-date").values("arr")[:1]),
        Subquery(arr_history.order_by("date").values("arr")[:1]),
        F("account__arr"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    return (
        HealthScore.objects.filter(as_of__in=dates, band__in=BANDS)
        .alias(arr_on_day=arr_on_day)
        .annotate(churned=churned_within(horizon))
    )


def churned_within(horizon: int) -> ExpressionWrapper:
    """The outcome of an observation on `as_of`: d < churned_on ≤ d + horizon."""
    return ExpressionWrapper(
        Q(account__churned_on__gt=F("as_of"), account__churned_on__lte=F("as_of") + timedelta(days=horizon)),
        output_field=BooleanField(),
    )


def backtest(params: BacktestParams) -> dict:
    """The report of SPEC §8, in its JSON shape (see the module docstring for the silent cases)."""
    dates = observation_dates(published_days(), params)
    report = {
        "horizon_days": params.horizon,
        "observation_dates": [d.isoformat() for d in dates],
        "scorecards": [],
        "overall": None,
        "verticals": [],
        "compare": None,
    }
    if not dates:
        report["error"] = (
            f"Not enough history: no date with published results {_range_words(params)} is followed by "
            f"{params.horizon} more days of results, so no outcome can be observed yet. Recompute past dates "
            f"(recompute --history) or choose a shorter horizon or an earlier --from."
        )
        return report
    groups = (
        _observations(dates, params.horizon)
        .values("scorecard_id", "account__vertical_id", "band", "score", "churned")
        .annotate(n=Count("id"), arr=Sum("arr_on_day"))
        .order_by()
    )
    by_scorecard: dict[int, Tally] = defaultdict(Tally)
    by_vertical: dict[int, Tally] = defaultdict(Tally)
    overall = Tally()
    for row in groups:
        cell = {
            "band": row["band"],
            "score": row["score"],
            "churned": bool(row["churned"]),
            "n": row["n"],
            "arr": row["arr"],
        }
        overall.add(**cell)
        by_vertical[row["account__vertical_id"]].add(**cell)
        if row["scorecard_id"] is not None:
            by_scorecard[row["scorecard_id"]].add(**cell)
    scorecards = Scorecard.objects.filter(pk__in=by_scorecard).select_related("vertical", "use_case").order_by("name")
    report["scorecards"] = [
        {
            "scorecard": sc.name,
            "vertical": sc.vertical.name if sc.vertical else None,
            "use_case": sc.use_case.name if sc.use_case else None,
            **by_scorecard[sc.pk].figures(),
        }
        for sc in scorecards
    ]
    report["overall"] = overall.figures()
    verticals = Vertical.objects.filter(pk__in=by_vertical).order_by("name").values_list("pk", "name")
    report["verticals"] = [{"vertical": name, **by_vertical[pk].figures()} for pk, name in verticals]
    if params.compare:
        report["compare"] = _compare(params, dates, report["verticals"], dict(verticals))
    if not any(cell[1] for cell in overall.bands.values()):
        report["error"] = (
            f"Not enough history: none of the {sum(c[0] for c in overall.bands.values())} observations churned within "
            f"{params.horizon} days, so there is nothing to predict yet: AUC and lift cannot be computed. "
            f"Widen the dates or lengthen the horizon."
        )
    return report


def _range_words(params: BacktestParams) -> str:
    if params.date_from and params.date_to:
        return f"between {params.date_from} and {params.date_to}"
    if params.date_from:
        return f"from {params.date_from} on"
    if params.date_to:
        return f"up to {params.date_to}"
    return "so far"


# ---------------------------------------------------------------------------------------------
# One size for everyone


def plan_for(scorecard: Scorecard, measures: list[tuple] | None = None) -> ScorecardPlan:
    """The scoring plan of a saved scorecard (or of its measures replaced by `measures`)."""
    if measures is None:
        measures = [(m.metric, m.weight, m.red, m.green) for m in scorecard.measures.all()]
    return scorecard_plan(
        id=scorecard.pk,
        name=scorecard.name,
        vertical_id=scorecard.vertical_id,
        use_case_id=scorecard.use_case_id,
        healthy_at=scorecard.healthy_at,
        at_risk_below=scorecard.at_risk_below,
        measures=measures,
    )


def rescore(metrics: dict, plan: ScorecardPlan) -> int | None:
    """The score `plan` gives these metrics: the recompute's own scoring code, called in one place."""
    return score_account(metrics, plan).score


def metric_groups(dates: list[date], horizon: int, metrics: list[str], *, by_date: bool = False, **observation_filter):
    """The stored metrics of the observations, grouped: (vertical id, churned, [as_of,] values…) → count.

    Only observations (band healthy/neutral/at risk that day, as in the backtest), narrowed by
    `observation_filter` on their HealthScore (e.g. scorecard_id=…).
    """
    # as_of__in repeated inside: the planner then reads only the observation dates' health rows
    # (an index scan) for the semi-join, not every daily row of the year.
    observed = HealthScore.objects.filter(
        as_of__in=dates,
        account_id=OuterRef("account_id"),
        as_of=OuterRef("as_of"),
        band__in=BANDS,
        **observation_filter,
    )
    keys = ["account__vertical_id", "churned", *(["as_of"] if by_date else []), *metrics]
    return (
        AccountMetrics.objects.filter(as_of__in=dates)
        .filter(Exists(observed))
        .annotate(churned=churned_within(horizon))
        .values(*keys)
        .annotate(n=Count("id"))
        .order_by()
    )


def _compare(params: BacktestParams, dates: list[date], verticals: list[dict], vertical_names: dict) -> dict:
    scorecard = Scorecard.objects.prefetch_related("measures").get(name__iexact=params.compare)
    plan = plan_for(scorecard)
    metrics = sorted({m.metric for m in plan.measures})
    scores: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    memo: dict[tuple, int | None] = {}
    for row in metric_groups(dates, params.horizon, metrics):
        key = tuple(row[m] for m in metrics)
        if key not in memo:
            memo[key] = rescore(dict(zip(metrics, key, strict=True)), plan)
        score = memo[key]
        if score is not None:
            scores[row["account__vertical_id"]][score][0 if row["churned"] else 1] += row["n"]
    name_to_pk = {name: pk for pk, name in vertical_names.items()}
    return {
        "scorecard": scorecard.name,
        "by_vertical": [
            {
                "vertical": v["vertical"],
                "own_auc": v["auc"],
                "compare_auc": _round4(auc(scores.get(name_to_pk[v["vertical"]], {}))),
            }
            for v in verticals
        ],
    }


# ---------------------------------------------------------------------------------------------
# Were the observations scored under today's thresholds?


def stale_dates(report: dict) -> dict[str, dict]:
    """Per scorecard of the report whose rules changed after some observation dates were scored:
    {name: {"changed_at", "dates"}}.

    A date counts as scored under today's rules when it was last published (PublishedDay) after the
    scorecard's last rule change (Scorecard.rules_changed_at, written with its change history); a date never recomputed
    since the change (or loaded without a recompute run) was scored under the earlier rules.
    Two queries.
    """
    names = [s["scorecard"] for s in report.get("scorecards", [])]
    dates = [date.fromisoformat(d) for d in report.get("observation_dates", [])]
    if not names or not dates:
        return {}
    changes = Scorecard.objects.filter(name__in=names, rules_changed_at__isnull=False).values(
        "name", "rules_changed_at"
    )
    runs = dict(PublishedDay.objects.filter(day__in=dates).values_list("day", "published_at"))
    stale = {}
    for change in changes:
        old = [d for d in dates if runs.get(d) is None or runs[d] < change["rules_changed_at"]]
        if old:
            stale[change["name"]] = {"changed_at": change["rules_changed_at"], "dates": old}
    return stale


def history_notes(report: dict, stale: dict | None = None) -> list[str]:
    """Plain sentences for `stale_dates`, each telling how to re-score the past."""
    stale = stale_dates(report) if stale is None else stale
    if not stale:
        return []
    dates = [date.fromisoformat(d) for d in report["observation_dates"]]
    latest = published_days()[-1]
    days = (latest - min(dates)).days
    notes = []
    for name, info in sorted(stale.items()):
        notes.append(
            f"Scorecard '{name}' was changed on {info['changed_at']:%Y-%m-%d %H:%M}; {len(info['dates'])} of the "
            f"{len(dates)} observation dates (the first {info['dates'][0]}) were scored under its earlier thresholds."
        )
    notes.append(
        f"To backtest today's thresholds, re-score the past: python manage.py recompute --as-of {latest} --history {days} "
        f"(daily for the last month, weekly before: observation dates off that weekly grid keep their old scores)."
    )
    return notes
