"""The CSV imports as an admin page: the same services and validation as the commands.

The upload is stored and imported by a Celery task (accounts.imports.jobs); the job's page polls
its progress (HTMX) until the result is there. A file over IMPORT_UPLOAD_MAX_SIZE is refused
before its body is read.
"""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.imports.csv_templates import csv_template
from accounts.imports.jobs import import_job_create, job_progress
from accounts.models import ImportJob

KINDS = {
    "accounts": ("Accounts", "accounts.add_account"),
    "usage": ("Daily usage", "accounts.add_usagedaily"),
    "nps": ("NPS responses", "accounts.add_npsresponse"),
}
# Room for the form's other fields and the multipart boundaries around the file.
MULTIPART_SLACK = 64 * 1024


def too_large_message() -> str:
    limit = settings.IMPORT_UPLOAD_MAX_SIZE
    return (
        f"The file is larger than {filesizeformat(limit)} ({limit:,} bytes), the most one upload may be: "
        "split it, or run the import command on the server (manage.py import_usage FILE.csv)."
    )


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, v[0]) for k, v in KINDS.items()], label="What the file holds")
    file = forms.FileField(
        allow_empty_file=True, help_text="CSV, UTF-8, with a header row (download a template below for the columns)."
    )
    skip_invalid = forms.BooleanField(
        required=False, help_text="Import the valid rows and list the invalid ones (otherwise nothing is written)."
    )
    as_of = forms.DateField(required=False, help_text="Accounts only: date of ARR history entries (default today).")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_UPLOAD_MAX_SIZE:
            raise forms.ValidationError(too_large_message())
        return upload


def import_view(request):
    """Upload a CSV; on any invalid row nothing is written unless 'skip invalid' is ticked."""
    if request.method == "POST" and _content_length(request) > settings.IMPORT_UPLOAD_MAX_SIZE + MULTIPART_SLACK:
        # Refused before Django reads (and spools to disk) the body.
        return _page(request, ImportForm(), failure=too_large_message(), status=413)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        if not request.user.has_perm(KINDS[kind][1]):
            raise PermissionDenied
        job = import_job_create(
            kind=kind,
            upload=form.cleaned_data["file"],
            skip_invalid=form.cleaned_data["skip_invalid"],
            as_of=form.cleaned_data["as_of"] if kind == "accounts" else None,
            user=request.user,
        )
        return HttpResponseRedirect(reverse("admin:accounts_import_job", args=[job.pk]))
    return _page(request, form)


def template_view(request, kind: str):
    """A CSV template of one import kind (header + an example row), for the user to fill in."""
    if kind not in KINDS:
        raise Http404(f"No import of '{kind[:40]}': choose one of {', '.join(KINDS)}")
    if not request.user.has_perm(KINDS[kind][1]):
        raise PermissionDenied
    response = HttpResponse(csv_template(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response


def import_job_view(request, job_id: int, partial: bool = False):
    """The job's status and, once done, its result; the status block polls itself until then."""
    job = get_object_or_404(ImportJob, pk=job_id)
    if not request.user.has_perm(KINDS[job.kind][1]):
        raise PermissionDenied
    progress = {} if job.finished else job_progress(job)
    context = {
        **admin.site.each_context(request),
        "title": f"Import of {job.filename}",
        "job": job,
        "label": KINDS[job.kind][0],
        "progress": progress,
        "percent": min(100, round(100 * progress.get("bytes", 0) / job.size)) if job.size and progress else 0,
    }
    template = "admin/accounts/partials/import_job_status.html" if partial else "admin/accounts/import_job.html"
    return TemplateResponse(request, template, context)


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _page(request, form, *, failure: str | None = None, status: int = 200):
    recent = list(ImportJob.objects.select_related("created_by")[:10])
    for job in recent:
        job.label = KINDS[job.kind][0] if job.kind in KINDS else job.kind
    context = {
        **admin.site.each_context(request),
        "title": "Import CSV",
        "form": form,
        "failure": failure,
        "limit": settings.IMPORT_UPLOAD_MAX_SIZE,
        "templates": [(kind, label) for kind, (label, perm) in KINDS.items() if request.user.has_perm(perm)],
        "recent": recent,
    }
    return TemplateResponse(request, "admin/accounts/import.html", context, status=status)
