"""Tune a scorecard from history: red/green per measure learned on the older half of the observation
dates, judged on the newer half (never on the data it learned from).

The method, kept simple enough to explain on the page: for each measure, `red` becomes the median
value of the learning half's churned observations (half of the accounts that went on to churn score
0 on it) and `green` the median value of its retained observations (half of those that stayed score
100). The direction comes from the metric catalogue; a measure whose medians don't separate in that
direction (or with no value on either side) keeps today's red and green. Weights and band
thresholds are kept. Both today's scorecard and the suggestion then re-score the newer half from
the stored metrics (the recompute's scoring code) and are compared by AUC and churn by band.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from configuration.models import AuditEntry
from configuration.services import ConfigInvalid, config_apply, rule_snapshot
from dashboards.backtest import BacktestParams, Tally, metric_groups, observation_dates, plan_for, published_days
from health.engine.scoring import FRACTIONAL_METRICS, band_for, score_account
from health.metrics_catalog import METRICS
from health.models import Scorecard


@dataclass
class Suggestion:
    scorecard: Scorecard
    learn_dates: list[date]
    judge_dates: list[date]
    measures: list[dict]  # {metric, label, higher_is_better, weight, red_now, green_now, red, green, changed, note}
    today: dict | None  # Tally.figures() on the newer half under today's thresholds
    suggested: dict | None
    error: str | None = None

    @property
    def changed(self) -> bool:
        return any(m["changed"] for m in self.measures)


def _median(counts: dict) -> float | None:
    """The (lower) median of values given as {value: count}."""
    total = sum(counts.values())
    if not total:
        return None
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if 2 * seen >= total:
            return value
    return None


def _rounded(metric: str, value: float):
    return round(value, 1) if metric in FRACTIONAL_METRICS else int(round(value))


def _num(value):
    value = float(value)
    return int(value) if value.is_integer() else value


def suggest_thresholds(*, scorecard: Scorecard, params: BacktestParams) -> Suggestion:
    """A red/green suggestion for each measure of `scorecard`, and how it fares on the newer half."""
    measures = list(scorecard.measures.all())
    dates = observation_dates(published_days(), params)
    half = len(dates) // 2
    learn, judge = dates[:half], dates[half:]
    suggestion = Suggestion(scorecard, learn, judge, [], None, None)
    if len(dates) < 2:
        suggestion.error = (
            f"Tuning needs at least 2 observation dates (one to learn from, one to judge on); there are {len(dates)}."
        )
        return suggestion
    metrics = sorted({m.metric for m in measures})
    rows = list(metric_groups(dates, params.horizon, metrics, by_date=True, scorecard_id=scorecard.pk))
    learning = [r for r in rows if r["as_of"] in set(learn)]
    if not any(r["churned"] for r in learning):
        suggestion.error = (
            "No observation of the older half churned within the horizon: there is nothing to learn from."
        )
        return suggestion
    new_measures = []
    for m in measures:
        churned, retained = defaultdict(int), defaultdict(int)
        for r in learning:
            if r[m.metric] is not None:
                (churned if r["churned"] else retained)[r[m.metric]] += r["n"]
        higher = METRICS[m.metric].higher_is_better
        red, green = _median(churned), _median(retained)
        note = ""
        if red is None or green is None:
            note = "no value on one side: kept"
        else:
            red, green = _rounded(m.metric, red), _rounded(m.metric, green)
            if (green <= red) if higher else (green >= red):
                note = "churned and retained accounts don't separate on it: kept"
        if note:
            red, green = _num(m.red), _num(m.green)
        changed = (red, green) != (_num(m.red), _num(m.green))
        suggestion.measures.append(
            {
                "metric": m.metric,
                "label": METRICS[m.metric].label,
                "higher_is_better": higher,
                "weight": _num(m.weight),
                "red_now": _num(m.red),
                "green_now": _num(m.green),
                "red": red,
                "green": green,
                "changed": changed,
                "note": note,
            }
        )
        new_measures.append((m.metric, m.weight, red, green))
    plans = {
        "today": plan_for(scorecard, [(m.metric, m.weight, m.red, m.green) for m in measures]),
        "suggested": plan_for(scorecard, new_measures),
    }
    judged = set(judge)
    for name, plan in plans.items():
        tally, memo = Tally(), {}
        for r in rows:
            if r["as_of"] not in judged:
                continue
            key = tuple(r[k] for k in metrics)
            if key not in memo:
                score = score_account(dict(zip(metrics, key, strict=True)), plan).score
                memo[key] = (score, band_for(score, plan))
            score, band = memo[key]
            if score is not None:
                tally.add(band=band, score=score, churned=bool(r["churned"]), n=r["n"], arr=0)
        figures = tally.figures()
        for cell in figures["bands"].values():
            del cell["arr"], cell["arr_churned"]  # not learned from, not judged: left out
        setattr(suggestion, name, figures)
    return suggestion


def suggestion_apply(*, scorecard: Scorecard, thresholds: list[tuple], actor) -> list[str]:
    """Writes new (red, green) per measure, in measure order, through config_apply (validation,
    change history, revert). Returns the report's lines; raises ConfigInvalid on a bad value."""
    document = rule_snapshot(kind="scorecards", pk=scorecard.pk)
    if len(thresholds) != len(document["measures"]):
        raise ConfigInvalid(
            ["scorecards[0].measures: the scorecard's measures changed since the suggestion; tune again"]
        )
    for measure, (red, green) in zip(document["measures"], thresholds, strict=True):
        measure["red"], measure["green"] = red, green
    report = config_apply(
        document={"version": 1, "scorecards": [document]}, actor=actor, source=AuditEntry.Source.ADMIN
    )
    return report.lines()
