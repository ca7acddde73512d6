"""Dashboards: health by vertical for everyone, revenue by vertical for leaders and admins."""

import csv

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.export import latest_as_of
from accounts.models import Vertical
from dashboards import charts, selectors
from dashboards.cross_pollination import vertical_suggestions
from people import roles


@require_GET
def verticals(request):
    overview = selectors.revenue_overview(latest_as_of())
    return render(
        request,
        "dashboards/verticals.html",
        {"overview": overview, "mix_figure": charts.health_mix_figure(overview["verticals"])},
    )


@require_GET
def revenue(request):
    if not roles.is_leader_or_admin(request.user):
        raise PermissionDenied("Revenue is for CS Leaders and CS Admins.")
    overview = selectors.revenue_overview(latest_as_of())
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="revenue-by-vertical.csv"'
        writer = csv.writer(response)
        writer.writerow(["vertical", "accounts", "arr", "share_of_arr", "average_arr", "arr_at_risk"])
        for v in overview["verticals"]:
            writer.writerow([v["vertical"], v["accounts"], v["arr"], v["share_of_arr"], v["average_arr"], v["arr_at_risk"]])
        return response
    return render(
        request,
        "dashboards/revenue.html",
        {"overview": overview, "arr_figure": charts.arr_by_vertical_figure(overview["verticals"])},
    )


@require_GET
def vertical_detail(request, slug: str):
    vertical = get_object_or_404(Vertical, slug=slug)
    day = latest_as_of()
    histogram = selectors.score_histogram(vertical, day)
    matrix = selectors.risk_matrix(vertical, day)
    funnels = selectors.journey_funnels(day, vertical=vertical)
    for funnel in funnels:
        funnel["figure"] = charts.funnel_figure(funnel)
    adoption = selectors.use_case_adoption(vertical, day)
    history = selectors.vertical_history(vertical, day)
    context = {
        "vertical": vertical,
        "as_of": day,
        "summary": selectors.vertical_summary(vertical, day),
        "histogram": histogram,
        "histogram_figure": charts.score_histogram_figure(histogram),
        "matrix": matrix,
        "matrix_figure": charts.risk_matrix_figure(matrix["points"]),
        "matrix_limits": {"top": selectors.RISK_MATRIX_TOP, "at_risk": selectors.RISK_MATRIX_AT_RISK},
        "funnels": funnels,
        "adoption": adoption,
        "adoption_figure": charts.adoption_figure(adoption),
        "history": history,
        "history_figure": charts.vertical_history_figure(history),
        "suggestions": vertical_suggestions(vertical, day),
    }
    return render(request, "dashboards/vertical_detail.html", context)
