"""The home of each role: leaders and admins get revenue and risk, CSMs their book."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboards import charts as dashboard_charts
from dashboards import selectors as dashboard_selectors
from health.selectors import results_day
from people import roles
from plays import views as plays_views


@require_GET
def home(request):
    """The home of the user's role: leaders and admins get revenue and risk, CSMs their book."""
    day = results_day()
    if roles.is_leader_or_admin(request.user):
        return render(request, "home.html", {"as_of": day, "leader": dashboard_selectors.leader_summary(day)})
    book = dashboard_selectors.book_by_vertical(request.user, day)
    context = {"as_of": day, "book": book, "book_figure": dashboard_charts.health_mix_figure(book) if book else None}
    context.update(plays_views.home_context(request))
    if day is not None:
        context.update(
            at_risk=[
                dashboard_selectors.describe_risk_row(a, day) for a in dashboard_selectors.my_at_risk(request.user, day)
            ],
            drops=dashboard_selectors.band_drops(request.user, day),
            say_vs_do=dashboard_selectors.drivers_without_usage(request.user, day),
        )
    return render(request, "home.html", context)
