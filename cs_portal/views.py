"""Project-level pages: the health check and the error pages."""

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from cs_portal.celery import app as celery_app
from pipeline.freshness import dirty_marks_status


@login_not_required
@require_GET
def healthz(request):
    """Database and broker status for load balancers and `docker compose` health checks, and
    freshness (SPEC §4.5): how many accounts wait for an incremental run and the age in seconds of
    the oldest dirty mark (null when none waits) — a growing age means incremental runs stall."""
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
    freshness = dirty_marks_status() if status["database"] == "ok" else {}
    return JsonResponse({"status": "ok" if healthy else "error", **status, **freshness}, status=200 if healthy else 503)


@login_not_required
def not_found(request, exception=None):
    """404s: the API's error format under /api/, the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [{"path": "", "message": "Not found."}]}, status=404)
    return page_not_found(request, exception)


@login_not_required
def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [{"path": "", "message": "Server error: it has been logged."}]}, status=500)
    return html_server_error(request)
