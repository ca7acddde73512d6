"""The configuration as a file, in the admin: download the apply_config document, upload one.

An upload is first a dry run (what would change, or every error with its path); "Apply" then
sends the same document again, validated again by `config_apply`. Nothing changes on an error.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from configuration.models import AuditEntry
from configuration.services import ConfigInvalid, config_apply, config_export
from people.roles import is_admin

MAX_BYTES = 5 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Configuration file", help_text="A JSON document as written by Download or export_config."
    )
    prune = forms.BooleanField(
        required=False, help_text="Delete the scorecards, segments, journeys… the file does not list (like --prune)."
    )


def parse_document(raw: bytes) -> tuple[dict | None, str | None]:
    """The JSON document of an upload, or a message saying why it can't be read."""
    if len(raw) > MAX_BYTES:
        return None, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start + 1})"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"


def _require_admin(request) -> None:
    if not is_admin(request.user):
        raise PermissionDenied


def download_view(request):
    _require_admin(request)
    body = json.dumps(config_export(), indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cs-portal-config-{timezone.localdate():%Y-%m-%d}.json"'
    return response


def config_view(request):
    """GET: the page. POST with a file: dry run. POST with action=apply and the document: apply it."""
    _require_admin(request)
    form = UploadForm()
    context = {"errors": [], "report": None, "document": None, "prune": False, "filename": ""}
    if request.method == "POST":
        apply = request.POST.get("action") == "apply"
        if apply:
            document, problem = parse_document(request.POST.get("document", "").encode())
            prune = request.POST.get("prune") == "on"
            filename = request.POST.get("filename", "")
        else:
            form = UploadForm(request.POST, request.FILES)
            document = problem = None
            if form.is_valid():
                upload = form.cleaned_data["file"]
                document, problem = parse_document(upload.read(MAX_BYTES + 1))
                prune, filename = form.cleaned_data["prune"], upload.name
        if problem:
            context["errors"] = [f"{filename or 'the document'}: {problem}"]
        elif document is not None:
            try:
                report = config_apply(
                    document=document,
                    dry_run=not apply,
                    prune=prune,
                    actor=request.user,
                    source=AuditEntry.Source.APPLY_CONFIG,
                )
            except ConfigInvalid as exc:
                context["errors"] = exc.errors
            else:
                if apply:
                    messages.success(
                        request, f"Applied {filename or 'the configuration'}: " + "; ".join(report.lines())
                    )
                    return redirect("admin-config")
                context.update(report=report, document=json.dumps(document), prune=prune, filename=filename)
    context.update(
        {
            **admin.site.each_context(request),
            "title": "Configuration file",
            "form": form,
        }
    )
    return TemplateResponse(request, "admin/configuration/config.html", context)
