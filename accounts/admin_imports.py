"""The CSV imports as an admin page: the same services and validation as the commands."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from accounts.imports import ImportFailed, import_accounts, import_nps, import_usage

KINDS = {
    "accounts": ("Accounts", import_accounts, "accounts.add_account"),
    "usage": ("Daily usage", import_usage, "accounts.add_usagedaily"),
    "nps": ("NPS responses", import_nps, "accounts.add_npsresponse"),
}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, v[0]) for k, v in KINDS.items()], label="What the file holds")
    file = forms.FileField(allow_empty_file=True, help_text="CSV, UTF-8, with a header row (see the README for the columns).")
    skip_invalid = forms.BooleanField(
        required=False, help_text="Import the valid rows and list the invalid ones (otherwise nothing is written)."
    )
    as_of = forms.DateField(required=False, help_text="Accounts only: date of ARR history entries (default today).")


def import_view(request):
    """Upload a CSV; on any invalid row nothing is written unless 'skip invalid' is ticked."""
    form = ImportForm(request.POST or None, request.FILES or None)
    result = failure = None
    if request.method == "POST" and form.is_valid():
        label, service, permission = KINDS[form.cleaned_data["kind"]]
        if not request.user.has_perm(permission):
            raise PermissionDenied
        kwargs = {"skip_invalid": form.cleaned_data["skip_invalid"]}
        if form.cleaned_data["kind"] == "accounts":
            kwargs["as_of"] = form.cleaned_data["as_of"]
        upload = form.cleaned_data["file"]
        try:
            result = service(upload.file, **kwargs)
        except ImportFailed as exc:
            failure = f"{upload.name}: {exc}"
        else:
            result.label = label
            result.filename = upload.name
    context = {
        **admin.site.each_context(request),
        "title": "Import CSV",
        "form": form,
        "result": result,
        "failure": failure,
    }
    return TemplateResponse(request, "admin/accounts/import.html", context)
