"""Request body limits for the API, enforced before a byte of an oversized body is read.

A 200 MB body used to be read (and parsed) whole before the 50,000-row error. Now a body whose
Content-Length is over API_MAX_BODY_SIZE is answered 413 at once; a chunked body (no
Content-Length) is spooled to a temporary file and refused as soon as it passes the cap.
"""

import tempfile

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse

READ_CHUNK = 64 * 1024
METHODS = {"POST", "PUT", "PATCH"}


def body_too_large(cap: int) -> JsonResponse:
    message = (
        f"the request body is larger than {cap:,} bytes ({cap / (1 << 20):g} MB), the most one request may send: "
        "split the rows over several requests"
    )
    return JsonResponse({"errors": [{"path": "", "message": message}]}, status=413)


def spool(stream, cap: int):
    """The stream copied to a temporary file (in memory up to 1 MB), or None once past `cap`."""
    spooled = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - handed to the request
    size = 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > cap:
            spooled.close()
            return None
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, size


class ApiBodyLimitMiddleware:
    """413 in the API's error format for a body over settings.API_MAX_BODY_SIZE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in METHODS and request.path_info.startswith("/api/"):
            cap = settings.API_MAX_BODY_SIZE
            meta = request.META
            try:
                length = int(meta.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > cap:
                return body_too_large(cap)
            if not length and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
                spooled = spool(meta["wsgi.input"], cap)
                if spooled is None:
                    return body_too_large(cap)
                body, size = spooled
                # Django reads a body of CONTENT_LENGTH bytes: give it the spooled one.
                meta["CONTENT_LENGTH"] = str(size)
                request._stream = LimitedStream(body, size)
        return self.get_response(request)
