"""Project middleware: the app's error pages even with DEBUG on, and the admin for staff only."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from cs_portal import views

logger = logging.getLogger("django.request")


class AppErrorPagesMiddleware:
    """With DEBUG on (the demo), Django answers a 404 or an error with its technical page; this
    renders the app's 404 and 500 pages instead, unless DEBUG_ERROR_PAGES is set (a developer who
    wants the traceback). With DEBUG off Django already uses handler404/handler500."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.active = settings.DEBUG and not settings.DEBUG_ERROR_PAGES

    def __call__(self, request):
        response = self.get_response(request)
        # A URL that matches no pattern never reaches a view: its technical 404 is replaced here.
        technical_404 = (
            self.active
            and response.status_code == 404
            and not getattr(response, "app_page", False)
            and "text/html" in response.get("Content-Type", "")
        )
        if technical_404 and not request.path.startswith(settings.STATIC_URL):
            return self._not_found(request)
        return response

    def process_exception(self, request, exception):
        if not self.active:
            return None
        if isinstance(exception, Http404):
            return self._not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return None  # handler403 renders the app's page, DEBUG or not
        logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return views.server_error(request)

    @staticmethod
    def _not_found(request, exception=None):
        response = views.not_found(request, exception)
        response.app_page = True
        return response


class AdminForStaffMiddleware:
    """A logged-in CSM or leader who opens /admin/ is sent, as before, to the admin's login page —
    which answers with the app's "Not allowed" page (with the menu back to their pages) instead of
    a form asking them to log in again with a staff account."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if request.path == "/admin/login/" and user.is_authenticated and not user.is_staff:
            raise PermissionDenied("The admin is for CS Admins: your role gives you the pages in the menu above.")
        return self.get_response(request)
