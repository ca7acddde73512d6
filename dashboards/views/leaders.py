"""Leaders' pages: health by vertical for everyone, revenue by vertical for leaders and admins."""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Vertical
from core import csv
from core.paginators import PAGE_SIZE
from dashboards import charts, selectors
from dashboards import journeys as journey_figures
from dashboards.cross_pollination import vertical_suggestions
from dashboards.forms import RiskFilterForm
from dashboards.rollups import RevenueHistory, RevenueTrend
from health.selectors import results_day
from people import roles


@require_GET
def verticals(request):
    overview = selectors.revenue_overview(results_day())
    return render(
        request,
        "dashboards/verticals.html",
        {"overview": overview, "mix_figure": charts.health_mix_figure(overview["verticals"])},
    )


def _revenue_tables(overview: dict, history: RevenueHistory | None, leaves: list[dict]) -> dict:
    """The CSV behind each chart of /revenue/: name → (header, rows); the ARR-history tables are
    empty for a day without its stored figures."""
    trend = history.trend if history else RevenueTrend(dates=[], verticals=[])
    curve = history.pareto if history else []
    kept = history.retention if history else None
    retention_rows = [*((v.vertical, v) for v in kept.verticals), ("All verticals", kept.total)] if kept else []
    return {
        "verticals": (
            ["vertical", "accounts", "arr", "share_of_arr", "average_arr", "arr_at_risk"],
            [
                [v["vertical"], v["accounts"], v["arr"], v["share_of_arr"], v["average_arr"], v["arr_at_risk"]]
                for v in overview["verticals"]
            ],
        ),
        "trend": (
            ["vertical", *[d.isoformat() for d in trend.dates]],
            [[s.vertical, *s.arr] for s in trend.verticals],
        ),
        "retention": (
            ["vertical", "accounts", "arr_then", "arr_now", "arr_kept", "nrr", "grr"],
            [[name, r.accounts, r.arr_then, r.arr_now, r.arr_kept, r.nrr, r.grr] for name, r in retention_rows],
        ),
        "pareto": (
            ["accounts", "share_of_accounts", "cumulative_arr", "share_of_arr"],
            [[p.accounts, p.share_of_accounts, p.cumulative_arr, p.share_of_arr] for p in curve],
        ),
        "use_cases": (
            ["vertical", "primary_use_case", "accounts", "arr"],
            [[leaf["vertical"], leaf["use_case"], leaf["accounts"], leaf["arr"]] for leaf in leaves],
        ),
    }


@require_GET
def revenue(request):
    if not roles.is_leader_or_admin(request.user):
        raise PermissionDenied("Revenue is for CS Leaders and CS Admins.")
    as_of = results_day()
    day = as_of or timezone.localdate()
    overview = selectors.revenue_overview(as_of)
    history = selectors.revenue_history(as_of)  # None without results, or for a day not rolled up
    leaves = selectors.arr_by_vertical_and_use_case(day)
    if request.GET.get("format") == "csv":
        tables = _revenue_tables(overview, history, leaves)
        name = request.GET.get("table", "verticals")
        if name not in tables:
            return HttpResponseBadRequest(
                f"table: unknown table '{name[:40]}'; choose one of {', '.join(tables)}", content_type="text/plain"
            )
        header, rows = tables[name]
        filename = "revenue-by-vertical.csv" if name == "verticals" else f"revenue-{name.replace('_', '-')}.csv"
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.writelines(csv.lines(header, rows))
        return response
    context = {
        "overview": overview,
        "arr_figure": charts.arr_by_vertical_figure(overview["verticals"]),
        "history": history,
        "trend": history.trend if history else None,
        "trend_figure": charts.arr_trend_figure(history.trend) if history else None,
        "retention": history.retention if history else None,
        "retention_figure": charts.retention_figure(history.retention.verticals) if history else None,
        "pareto": history.pareto if history else [],
        "pareto_figure": charts.pareto_figure(history.pareto) if history else None,
        "leaves": leaves,
        "treemap_figure": charts.arr_treemap_figure(leaves),
    }
    return render(request, "dashboards/revenue.html", context)


@require_GET
def vertical_detail(request, slug: str):
    vertical = get_object_or_404(Vertical, slug=slug)
    day = results_day()
    rollup = selectors.vertical_day(vertical, day)
    summary = selectors.vertical_summary(rollup)
    histogram = selectors.score_histogram(rollup)
    scored = summary["mix"]["healthy"] + summary["mix"]["neutral"] + summary["mix"]["at_risk"]
    matrix = selectors.risk_matrix(vertical, day, scored_accounts=scored)
    funnels = journey_figures.journey_funnels(day, vertical=vertical)
    for funnel in funnels:
        funnel["figure"] = charts.funnel_figure(funnel)
    adoption = selectors.use_case_adoption(rollup)
    history = selectors.vertical_history(vertical, day)
    context = {
        "vertical": vertical,
        "as_of": day,
        "rolled_up": rollup is not None or selectors.vertical_days_rolled_up(day),
        "summary": summary,
        "histogram": histogram,
        "histogram_figure": charts.score_histogram_figure(histogram),
        "matrix": matrix,
        "matrix_figure": charts.risk_matrix_figure(matrix["points"]),
        "matrix_limits": {"top": selectors.RISK_MATRIX_TOP, "at_risk": selectors.RISK_MATRIX_AT_RISK},
        "funnels": funnels,
        "adoption": adoption,
        "adoption_figure": charts.adoption_figure(adoption, {b: summary["mix"][b] for b in ("healthy", "at_risk")}),
        "history": history,
        "history_figure": charts.vertical_history_figure(history),
        "suggestions": vertical_suggestions(vertical, day, limit=10),
    }
    return render(request, "dashboards/vertical_detail.html", context)


RISK_PAGE_SIZE = PAGE_SIZE
RISK_CSV_COLUMNS = [
    "external_id",
    "name",
    "vertical",
    "owner",
    "arr",
    "health_band",
    "score",
    "score_30_days_before",
    "renewal_date",
    "days_to_renewal",
]


@require_GET
def risk(request):
    """At-risk and slipping accounts for every role: filters, paging (HTMX swaps the table) and CSV."""
    day = results_day()
    form = RiskFilterForm(request.GET or None)
    filters = form.filters()
    accounts = selectors.risk_accounts(day, **filters) if day else None
    if request.GET.get("format") == "csv":
        return _risk_csv(accounts, day)
    summary = selectors.risk_summary(accounts) if accounts is not None else None
    paginator = Paginator(accounts if accounts is not None else [], RISK_PAGE_SIZE)
    # The summary already counted the rows: spare the paginator its own COUNT(*).
    paginator.count = summary["accounts"] if summary else 0
    page = paginator.get_page(form.cleaned_data.get("page") if form.is_bound else 1)
    for account in page.object_list:
        selectors.describe_risk_row(account, day)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = {
        "form": form,
        "as_of": day,
        "summary": summary,
        "page": page,
        "query": query.urlencode(),
        "error": form.error_text(),
        "slipping_points": selectors.SLIPPING_POINTS,
        "slipping_days": selectors.SLIPPING_DAYS,
    }
    template = "dashboards/partials/risk_table.html" if request.htmx else "dashboards/risk.html"
    return render(request, template, context)


def _risk_csv(accounts, day) -> StreamingHttpResponse:
    def rows():
        if accounts is None:
            return
        found = accounts.values_list(
            "external_id",
            "name",
            "vertical__name",
            "owner__email",
            "arr",
            "band_now",
            "score_now",
            "score_then",
            "renewal_date",
        )
        for external_id, name, vertical, owner, arr, band, score, then, renewal in found.iterator(chunk_size=2000):
            yield [
                external_id,
                name,
                vertical,
                owner or "",
                f"{arr:.2f}",
                band or "",
                _blank(score),
                _blank(then),
                renewal or "",
                _blank(selectors.days_until(day, renewal)),
            ]

    response = StreamingHttpResponse(csv.lines(RISK_CSV_COLUMNS, rows()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="accounts-at-risk.csv"'
    return response


def _blank(value):
    return "" if value is None else value
