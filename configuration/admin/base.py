"""Admin pieces shared by the rule admins: document validation of inlines, audit history and revert.

Scorecards, segments and journeys are saved by the admin's own model forms, but validated by
`validate_document`, the validation of apply_config and the API, so the admin accepts exactly
what those accept. Every save and delete records an AuditEntry; the object's "History" page
shows them as a before/after diff, with a one-click revert (POST, CS Admins only).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from configuration.audit import audit_record, diff_lines
from configuration.models import AuditEntry
from configuration.services import ConfigInvalid, RevertImpossible, audit_revert, rule_label, rule_snapshot
from configuration.validation import validate_document
from core.errors import path_steps
from people.roles import is_admin

HISTORY_URLS = {
    "scorecards": "admin:health_scorecard_history",
    "segments": "admin:segments_segment_history",
    "journeys": "admin:journeys_journey_history",
    "plays": "admin:plays_play_history",
}


def revert_with_message(model_admin, request, entry: AuditEntry) -> AuditEntry | None:
    """Reverts `entry` (see audit_revert) and tells the user how it went; the new entry, if any."""
    try:
        reverted = audit_revert(entry=entry, actor=request.user)
    except RevertImpossible as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
    except ConfigInvalid as exc:
        model_admin.message_user(request, "Not reverted: " + "; ".join(exc.errors), messages.ERROR)
    else:
        if reverted is None:
            model_admin.message_user(request, f"'{entry.name}' already is as it was before that change.", messages.INFO)
        else:
            model_admin.message_user(request, f"Reverted '{reverted.name}' to how it was before the change of "
                                     f"{entry.created_at:%Y-%m-%d %H:%M}.", messages.SUCCESS)  # fmt: skip
        return reverted
    return None


def _item_place(path: str) -> tuple[str | None, int | None, str | None] | None:
    """Where in a one-item document a path points: (child list, row, field) — e.g.
    "scorecards[0].measures[1].metric" → ("measures", 1, "metric"), "segments[0].name" →
    (None, None, "name"); None for a path deeper than that (the problem is shown as a whole)."""
    steps = path_steps(path)[2:]  # past "<kind>", 0
    child = index = None
    if len(steps) >= 2 and isinstance(steps[0], str) and isinstance(steps[1], int):
        child, index, steps = steps[0], steps[1], steps[2:]
    field = steps[0] if steps and isinstance(steps[0], str) else None
    rest = steps[1:] if field else steps
    if len(rest) > 1 or (rest and not isinstance(rest[0], int)) or (not field and rest):
        return None
    return child, index, field


class DocumentInlineFormSet(BaseInlineFormSet):
    """The inline rows (measures, stages) plus their parent, checked as one apply_config document item.

    Subclasses say which `kind` and `child` key they are and how to turn the parent and the rows
    into the document form; each error lands on the row and field its path names.
    """

    kind = ""
    child = ""
    parent_fields: tuple[str, ...] = ()  # fields the parent form already validates itself

    def parent_item(self, instance) -> dict | None:
        raise NotImplementedError

    def row_item(self, data: dict) -> dict:
        raise NotImplementedError

    def ordered_forms(self) -> list:
        kept = [f for f in self.forms if f.is_valid() and f.cleaned_data and not self._should_delete_form(f)]
        return sorted(kept, key=lambda f: (f.cleaned_data.get("position") or 0))

    def clean(self):
        super().clean()
        if any(f.errors for f in self.forms if not self._should_delete_form(f)):
            return  # the rows' own errors first
        item = self.parent_item(self.instance)
        if item is None:
            return
        rows = self.ordered_forms()
        item[self.child] = [self.row_item(f.cleaned_data) for f in rows]
        problems = []
        for error in validate_document({"version": 1, self.kind: [item]}):
            where = _item_place(error.path)
            if where is None:
                problems.append(error)
                continue
            child, index, field = where
            if child == self.child and index is not None:
                form = rows[index]
                form.add_error(field if field in form.fields else None, error.message)
            elif field in self.parent_fields:
                continue
            elif field:
                problems.append(f"{field.replace('_', ' ')}: {error.message}")
            else:
                problems.append(error.message)
        if problems:
            raise forms.ValidationError(problems)


class AuditedAdminMixin:
    """Records every admin save and delete, and serves the object's history with diffs and revert.

    Set `audit_kind` to the document key ("scorecards", "segments", "journeys").
    """

    audit_kind = ""
    revertible = True
    object_history_template = "admin/configuration/history.html"

    def save_model(self, request, obj, form, change):
        obj._audit_before = rule_snapshot(kind=self.audit_kind, pk=obj.pk) if change and obj.pk else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        after = rule_snapshot(kind=self.audit_kind, pk=obj.pk)
        audit_record(kind=self.audit_kind, object_id=obj.pk, name=rule_label(self.audit_kind, after),
                     before=getattr(obj, "_audit_before", None), after=after, actor=request.user,
                     source=AuditEntry.Source.ADMIN)  # fmt: skip

    def delete_model(self, request, obj):
        before = rule_snapshot(kind=self.audit_kind, pk=obj.pk)
        pk = obj.pk
        super().delete_model(request, obj)
        audit_record(kind=self.audit_kind, object_id=pk, name=rule_label(self.audit_kind, before), before=before,
                     after=None, actor=request.user, source=AuditEntry.Source.ADMIN)  # fmt: skip

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/history/<int:entry_id>/revert/",
                self.admin_site.admin_view(self.revert_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_revert",
            ),  # fmt: skip
            *super().get_urls(),
        ]

    def history_view(self, request, object_id, extra_context=None):
        """The object's audit trail, newest first, each change as (what, from, to) lines."""
        obj = self.get_object(request, admin.utils.unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = list(AuditEntry.objects.filter(kind=self.audit_kind, object_id=obj.pk).select_related("actor")[:200])
        for entry in entries:
            entry.diff = diff_lines(entry.kind, entry.before, entry.after)
            entry.can_revert = self.revertible and entry.before is not None
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "entries": entries,
            "module_name": str(self.opts.verbose_name_plural).capitalize(),
            "object": obj,
            "opts": self.opts,
            "can_revert": is_admin(request.user) and self.has_change_permission(request, obj),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)

    def revert_view(self, request, object_id, entry_id):
        """POST: puts the object back as it was before the entry's change (a new entry records it)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, admin.utils.unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not (self.revertible and is_admin(request.user) and self.has_change_permission(request, obj)):
            raise PermissionDenied
        entry = get_object_or_404(AuditEntry, pk=entry_id, kind=self.audit_kind, object_id=obj.pk)
        revert_with_message(self, request, entry)
        history = f"admin:{self.opts.app_label}_{self.opts.model_name}_history"
        return HttpResponseRedirect(reverse(history, args=[obj.pk], current_app=self.admin_site.name))


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Every rule change in one list (read-only); each object's own history is on its change form."""

    list_display = ("created_at", "kind", "name", "action", "source", "actor")
    list_display_links = ("created_at", "name")
    list_filter = ("kind", "action", "source")
    search_fields = ("name",)
    list_select_related = ("actor",)
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def get_urls(self):
        revert = self.admin_site.admin_view(self.revert_view)
        return [path("<int:entry_id>/revert/", revert, name="configuration_auditentry_revert"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """One entry as a diff, with a revert that also brings back a deleted scorecard, segment or journey."""
        if not is_admin(request.user):
            raise PermissionDenied
        pk = admin.utils.unquote(object_id)
        if not (pk.isascii() and pk.isdigit()):  # /auditentry/abc/change/: not found, not a ValueError from the lookup
            raise Http404(f"No change history entry '{pk[:40]}'")
        entry = get_object_or_404(AuditEntry.objects.select_related("actor"), pk=pk)
        entry.diff = diff_lines(entry.kind, entry.before, entry.after)
        exists = entry.object_id and rule_snapshot(kind=entry.kind, pk=entry.object_id) is not None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{entry.get_kind_display()} '{entry.name}' {entry.get_action_display().lower()}",
            "entry": entry,
            "opts": self.opts,
            "history_url": reverse(HISTORY_URLS[entry.kind], args=[entry.object_id]) if exists else None,
            "can_revert": entry.before is not None,
        }
        return TemplateResponse(request, "admin/configuration/entry.html", context)

    def revert_view(self, request, entry_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not is_admin(request.user):
            raise PermissionDenied
        entry = get_object_or_404(AuditEntry, pk=entry_id)
        reverted = revert_with_message(self, request, entry)
        if reverted is not None:
            return HttpResponseRedirect(reverse(HISTORY_URLS[reverted.kind], args=[reverted.object_id]))
        return HttpResponseRedirect(reverse("admin:configuration_auditentry_change", args=[entry.pk]))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_module_permission(self, request):
        return is_admin(request.user)
