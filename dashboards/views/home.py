"""The home of each role: leaders and admins get revenue and risk, CSMs their book."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboards import charts as dashboard_charts
from dashboards import home_selectors
from dashboards import selectors as dashboard_selectors
from health.selectors import results_day
from people import roles
from plays import views as plays_views


@require_GET
def home(request):
    """The home of the user's role: leaders and admins get revenue and risk, CSMs their book."""
    day = results_day()
    if roles.is_leader_or_admin(request.user):
        leader = dashboard_selectors.leader_summary(day)
        trend = home_selectors.leader_trend(day)
        context = {
            "as_of": day,
            "leader": leader,
            "trend": trend,
            "deltas": _deltas(leader, trend),
            "renewals": home_selectors.renewals_by_band(day),
            "look_first": home_selectors.look_first(leader["verticals"], day),
            "retention": home_selectors.retention_total(day),
        }
        return render(request, "home.html", context)
    book = dashboard_selectors.book_by_vertical(request.user, day)
    context = {"as_of": day, "book": book, "book_figure": dashboard_charts.health_mix_figure(book) if book else None}
    context.update(plays_views.home_context(request))
    if day is not None:
        context.update(
            at_risk=[
                dashboard_selectors.describe_risk_row(a, day) for a in dashboard_selectors.my_at_risk(request.user, day)
            ],
            drops=dashboard_selectors.band_drops(request.user, day),
            overdue=home_selectors.overdue_renewals(request.user, day),
            say_vs_do=dashboard_selectors.drivers_without_usage(request.user, day),
        )
    return render(request, "home.html", context)


def _deltas(leader: dict, trend: dict) -> list[dict]:
    """The three headline figures now (from the day's overview) and 30/90 days before (from the
    rollup, when there is one that far back), with their changes."""
    now = {
        "arr": leader["total_arr"],
        "arr_at_risk": leader["arr_at_risk"],
        "at_risk": sum(v["health_mix"]["at_risk"] for v in leader["verticals"]),
    }
    rows = []
    for key, label, kind in (
        ("arr", "Active ARR", "money"),
        ("arr_at_risk", "ARR at risk", "money"),
        ("at_risk", "Accounts at risk", "count"),
    ):
        row = {"key": key, "label": label, "kind": kind, "now": now[key], "then": []}
        for n in (30, 90):
            then = trend["then"].get(n)
            value = getattr(then, key) if then else None
            row["then"].append(
                {
                    "days": n,
                    "day": then.day if then else None,
                    "value": value,
                    "change": None if value is None else now[key] - value,
                }
            )
        rows.append(row)
    return rows
