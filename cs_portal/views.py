"""Project-level pages: the role home and the health check."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cs_portal.celery import app as celery_app
from dashboards import charts as dashboard_charts
from dashboards import selectors as dashboard_selectors
from health.selectors import results_day
from people import roles


@require_GET
def home(request):
    """The home of the user's role: leaders and admins get revenue and risk, CSMs their book."""
    day = results_day()
    if roles.is_leader_or_admin(request.user):
        return render(request, "home.html", {"as_of": day, "leader": dashboard_selectors.leader_summary(day)})
    book = dashboard_selectors.book_by_vertical(request.user, day)
    context = {"as_of": day, "book": book, "book_figure": dashboard_charts.health_mix_figure(book) if book else None}
    if day is not None:
        context.update(
            at_risk=[
                dashboard_selectors.describe_risk_row(a, day) for a in dashboard_selectors.my_at_risk(request.user, day)
            ],
            drops=dashboard_selectors.band_drops(request.user, day),
            say_vs_do=dashboard_selectors.drivers_without_usage(request.user, day),
        )
    return render(request, "home.html", context)


@login_not_required
@require_GET
def healthz(request):
    """Database and broker status for load balancers and `docker compose` health checks."""
    status = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported as text
        status["database"] = f"error: {exc.__class__.__name__}"
    if celery_app.conf.task_always_eager:
        status["broker"] = "eager (no broker configured)"
    else:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:  # noqa: BLE001
            status["broker"] = f"error: {exc.__class__.__name__}"
    healthy = status["database"] == "ok" and not status["broker"].startswith("error")
    return JsonResponse({"status": "ok" if healthy else "error", **status}, status=200 if healthy else 503)


@login_not_required
def not_found(request, exception=None):
    """404s: the API's error format under /api/, the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [{"path": "", "message": "Not found."}]}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


@login_not_required
def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [{"path": "", "message": "Server error: it has been logged."}]}, status=500)
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)
