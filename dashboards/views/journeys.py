"""The journeys page: a funnel per vertical and use case, and the accounts stuck in a stage."""

import re

from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Vertical
from dashboards import journeys as selectors
from dashboards.charts import funnel_figure
from health.selectors import results_day

SLUG = re.compile(r"[-\w]+")


@require_GET
def journey_overview(request):
    verticals = list(Vertical.objects.order_by("name").values_list("slug", "name"))
    slug = request.GET.get("vertical", "")
    vertical = None
    if slug:
        # Slugs are word characters and hyphens: anything else (a NUL byte PostgreSQL refuses) is no vertical.
        vertical = Vertical.objects.filter(slug=slug).first() if SLUG.fullmatch(slug) else None
        if vertical is None:
            return render(
                request,
                "journeys/journeys.html",
                {"verticals": verticals, "error": f"vertical: no vertical '{slug[:80]}'; pick one from the list"},
                status=400,
            )
    day = results_day()
    funnels = selectors.journey_funnels(day, vertical=vertical)
    for funnel in funnels:
        funnel["figure"] = funnel_figure(funnel, height=90 + 50 * len(funnel["stages"]))
    context = {
        "verticals": verticals,
        "vertical": vertical,
        "as_of": day,
        "funnels": funnels,
        "stuck": selectors.stuck_accounts(day, vertical=vertical),
    }
    return render(request, "journeys/journeys.html", context)
