"""One error format for the whole API: {"errors": [{"path": ..., "message": ...}]}."""

from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.text import shown

# DRF's own messages may quote the input ('"…" is not a valid choice'): never echo more than this.
MESSAGE_LIMIT = 300


def flatten(detail, path: str = "") -> list[dict]:
    """DRF's nested error detail → a flat list of {path, message}; paths like `rows[3].date`."""
    if isinstance(detail, dict):
        out = []
        for raw_key, value in detail.items():
            key = "" if raw_key in ("non_field_errors", "detail") else shown(str(raw_key))
            sub = f"{path}.{key}" if path and key else (path or key)
            out.extend(flatten(value, sub))
        return out
    if isinstance(detail, list):
        if all(not isinstance(x, dict | list) for x in detail):
            return [{"path": path, "message": shown(str(x), MESSAGE_LIMIT)} for x in detail]
        out = []
        for i, value in enumerate(detail):
            if value in ({}, []):
                continue
            out.extend(flatten(value, f"{path}[{i}]"))
        return out
    return [{"path": path, "message": shown(str(detail), MESSAGE_LIMIT)}]


def error_response(errors: list[dict], status_code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"errors": errors}, status=status_code)


QUERY_CANCELED = "57014"  # PostgreSQL: statement_timeout (WEB_STATEMENT_TIMEOUT_MS) reached


def exception_handler(exc, context):
    if isinstance(exc, OperationalError) and getattr(exc.__cause__, "pgcode", None) == QUERY_CANCELED:
        message = "the request took too long and was stopped (nothing was written): retry later, or send fewer rows"
        return error_response([{"path": "", "message": message}], status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"errors": flatten(response.data)}
    return response
