"""Dashboards: health by vertical for everyone, revenue by vertical for leaders and admins."""

import csv

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.export import latest_as_of
from dashboards import charts, selectors
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
