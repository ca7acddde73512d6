"""/backtest/ (leaders and admins): is the score predictive? And /backtest/tune/<id>/ (admins)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core import csv
from dashboards.backtest import DEFAULT_HORIZON, DEFAULT_STEP, backtest, history_notes, stale_dates
from dashboards.backtest_charts import churn_by_band_figure
from dashboards.backtest_forms import BacktestForm
from health.models import Scorecard
from people import roles

PARAMS = ("from", "to", "horizon", "step", "compare")
AUC_NO_SIGNAL = 0.05  # |AUC − 0.5| below this: no better than a coin flip


def percent(rate) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


def scorecard_sentences(row: dict, horizon: int, subject: str) -> list[str]:
    """What a row of the report means, in plain words."""
    bands = row["bands"]
    at_risk, healthy = bands["at_risk"]["churn_rate"], bands["healthy"]["churn_rate"]
    out = []
    if row["lift"] is not None:
        out.append(
            f"Accounts {subject} calls at risk churned {row['lift']:.1f}× as often as healthy ones within {horizon} days "
            f"({percent(at_risk)} vs {percent(healthy)})."
        )
    elif healthy == 0 and at_risk:
        out.append(
            f"None of the accounts {subject} calls healthy churned within {horizon} days; {percent(at_risk)} of those at risk did."
        )
    elif at_risk is None or healthy is None:
        out.append(
            f"{subject[0].upper()}{subject[1:]} put no account in the {'at-risk' if at_risk is None else 'healthy'} band: no lift to report."
        )
    auc = row["auc"]
    if auc is None:
        out.append("No AUC: it needs both churned and retained observations.")
    elif abs(auc - 0.5) < AUC_NO_SIGNAL:
        out.append(
            f"AUC {auc:.2f} ≈ 0.5: the score tells churners from the others no better than a coin flip — no signal."
        )
    elif auc > 0.5:
        out.append(
            f"AUC {auc:.2f}: an account that churned scored lower than one that stayed {100 * auc:.0f}% of the time."
        )
    else:
        out.append(
            f"AUC {auc:.2f} is below 0.5: accounts that churned tended to score higher — the score points the wrong way."
        )
    return out


def compare_sentence(row: dict, name: str) -> str:
    own, other = row["own_auc"], row["compare_auc"]
    if own is None or other is None:
        return f"{row['vertical']}: not enough churned and retained observations to compare."
    if abs(own - other) < 0.01:
        return (
            f"{row['vertical']}: its own scorecards and '{name}' predict about as well (AUC {own:.2f} vs {other:.2f})."
        )
    better = "its own scorecards predict better" if own > other else f"'{name}' predicts better"
    return f"{row['vertical']}: {better} (AUC {own:.2f} with its own vs {other:.2f} with '{name}')."


BAND_LABELS = {"healthy": "Healthy", "neutral": "Neutral", "at_risk": "At risk"}


def band_rows(figures: dict) -> list[dict]:
    """A figures dict's bands as table rows, rates as percentages."""
    return [
        {"band": band, "label": BAND_LABELS[band], **cell, "rate": percent(cell["churn_rate"])}
        for band, cell in figures["bands"].items()
    ]


def _tables(report: dict) -> dict:
    def band_rows(label_cols, items):
        return [
            [
                *label_cols(item),
                item["auc"],
                item["lift"],
                band,
                *(cell[k] for k in ("observations", "churned", "churn_rate", "arr", "arr_churned")),
            ]
            for item in items
            for band, cell in item["bands"].items()
        ]

    figures = ["auc", "lift", "band", "observations", "churned", "churn_rate", "arr", "arr_churned"]
    compare = report.get("compare") or {"by_vertical": []}
    return {
        "scorecards": (
            ["scorecard", "vertical", "use_case", *figures],
            band_rows(lambda s: [s["scorecard"], s["vertical"] or "", s["use_case"] or ""], report["scorecards"]),
        ),
        "verticals": (["vertical", *figures], band_rows(lambda v: [v["vertical"]], report["verticals"])),
        "compare": (
            ["vertical", "own_auc", "compare_auc"],
            [[r["vertical"], r["own_auc"], r["compare_auc"]] for r in compare["by_vertical"]],
        ),
    }


def _csv(report: dict, name: str) -> HttpResponse:
    tables = _tables(report)
    if name not in tables:
        return HttpResponseBadRequest(
            f"table: unknown table '{name[:40]}'; choose one of {', '.join(tables)}", content_type="text/plain"
        )
    header, rows = tables[name]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="backtest-{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return response


def _require_leader_or_admin(request):
    if not roles.is_leader_or_admin(request.user):
        raise PermissionDenied("The backtest is for CS Leaders and CS Admins.")


@require_GET
def backtest_page(request):
    _require_leader_or_admin(request)
    given = {k: request.GET[k] for k in PARAMS if k in request.GET}
    form = BacktestForm({"horizon": str(DEFAULT_HORIZON), "step": str(DEFAULT_STEP), **given})
    report = backtest(form.params()) if form.is_valid() else None
    if request.GET.get("format") == "csv":
        if report is None:
            return HttpResponseBadRequest(
                "; ".join(f"{e['path']}: {e['message']}" for e in form.error_list()), content_type="text/plain"
            )
        return _csv(report, request.GET.get("table", "scorecards"))
    context = {"form": form, "report": report, "query": request.GET.copy()}
    if report and report["observation_dates"]:
        horizon = report["horizon_days"]
        ids = dict(
            Scorecard.objects.filter(name__in=[s["scorecard"] for s in report["scorecards"]]).values_list("name", "pk")
        )
        context.update(
            figure=churn_by_band_figure(report["scorecards"], horizon),
            scorecard_rows=[
                {
                    **row,
                    "id": ids.get(row["scorecard"]),
                    "rows": band_rows(row),
                    "sentences": scorecard_sentences(row, horizon, f"{row['scorecard']}'s scorecard"),
                }
                for row in report["scorecards"]
            ],
            vertical_rows=[
                {
                    **row,
                    "rows": band_rows(row),
                    "sentences": scorecard_sentences(row, horizon, f"{row['vertical']}'s scores"),
                }
                for row in report["verticals"]
            ],
            overall_rows=band_rows(report["overall"]),
            overall_sentences=scorecard_sentences(report["overall"], horizon, "any scorecard"),
            compare_sentences=[
                compare_sentence(r, report["compare"]["scorecard"]) for r in report["compare"]["by_vertical"]
            ]
            if report["compare"]
            else [],
            history_notes=history_notes(report, stale_dates(report)),
            step=form.params().step,
        )
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    context["query"] = query.urlencode()
    context["is_admin"] = roles.is_admin(request.user)
    return render(request, "dashboards/backtest.html", context)
