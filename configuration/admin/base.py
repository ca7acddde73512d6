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
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

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


# What a saved rule changes once a recompute has run (nothing changes before it).
RECOMPUTE_CHANGES = {
    "scorecards": "Health scores and bands",
    "segments": "Segment memberships and touch models",
    "journeys": "Journey stages (and scores that use journey progress)",
}


def offer_recompute(model_admin, request, kind: str) -> None:
    """After a rule change: says that results change only after a recompute, and offers one —
    a button that POSTs to the runs' own "Recompute now" (the same queueing, lock and progress page)."""
    what = RECOMPUTE_CHANGES.get(kind)
    if what is None:
        return
    today = timezone.localdate()
    if not is_admin(request.user):
        model_admin.message_user(
            request,
            f"{what} change only after a recompute: ask a CS Admin to run one, or wait for the nightly run.",
            messages.WARNING,
        )
        return
    model_admin.message_user(
        request,
        format_html(
            "{} change only after a recompute; until then every page shows the results of the rules as they were. "
            '<form method="post" action="{}" class="recompute-offer" style="display:inline">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit" class="button" id="recompute-after-save">Recompute now ({})</button></form>',
            what,
            reverse("admin:pipeline_recomputerun_start"),
            get_token(request),
            f"{today:%Y-%m-%d}",
        ),
        messages.WARNING,
    )


def revert_with_message(model_admin, request, entry: AuditEntry, reason: str = "") -> AuditEntry | None:
    """Reverts `entry` (see audit_revert) and tells the user how it went; the new entry, if any."""
    try:
        reverted = audit_revert(entry=entry, actor=request.user, reason=reason)
    except RevertImpossible as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
    except ConfigInvalid as exc:
        model_admin.message_user(request, "Not reverted: " + "; ".join(exc.errors), messages.ERROR)
    else:
        if reverted is None:
            model_admin.message_user(request, f"'{entry.name}' already is as it was before that change.", messages.INFO)
        else:
            model_admin.message_user(
                request,
                f"Reverted '{reverted.name}' to how it was before the change of {entry.created_at:%Y-%m-%d %H:%M}.",
                messages.SUCCESS,
            )
            offer_recompute(model_admin, request, reverted.kind)
        return reverted
    return None


class RevertForm(forms.Form):
    reason = forms.CharField(
        label="Why revert?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept with the change in the history, for whoever reads it later.",
        error_messages={"required": "reason: say why you revert this change (it is kept in the change history)"},
    )

    def clean_reason(self):
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError("reason: say why you revert this change (it is kept in the change history)")
        return reason


def revert_confirm(model_admin, request, entry: AuditEntry, *, cancel_url: str, done_url) -> object:
    """GET: what the revert will change (from the object as it is now to as it was before the entry)
    and a reason to give; POST with a reason: reverts and redirects to `done_url(reverted)`;
    POST without one: the same page again, the reason's error on it."""
    form = RevertForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        reverted = revert_with_message(model_admin, request, entry, form.cleaned_data["reason"])
        return HttpResponseRedirect(done_url(reverted))
    current = rule_snapshot(kind=entry.kind, pk=entry.object_id) if entry.object_id else None
    changes = diff_lines(entry.kind, current, entry.before) if entry.before is not None else []
    restore = current is None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{'Restore' if restore else 'Revert'} {entry.get_kind_display().lower()} '{entry.name}'?",
        "entry": entry,
        "changes": changes,
        "restore": restore,
        "form": form,
        "cancel_url": cancel_url,
        "opts": model_admin.opts,
        "what_changes": RECOMPUTE_CHANGES.get(entry.kind),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/configuration/revert_confirm.html", context)


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
        entry = audit_record(
            kind=self.audit_kind,
            object_id=obj.pk,
            name=rule_label(self.audit_kind, after),
            before=getattr(obj, "_audit_before", None),
            after=after,
            actor=request.user,
            source=AuditEntry.Source.ADMIN,
        )
        if entry is not None:  # something changed: results follow only after a recompute
            offer_recompute(self, request, self.audit_kind)

    def delete_model(self, request, obj):
        before = rule_snapshot(kind=self.audit_kind, pk=obj.pk)
        pk = obj.pk
        super().delete_model(request, obj)
        audit_record(
            kind=self.audit_kind,
            object_id=pk,
            name=rule_label(self.audit_kind, before),
            before=before,
            after=None,
            actor=request.user,
            source=AuditEntry.Source.ADMIN,
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/history/<int:entry_id>/revert/",
                self.admin_site.admin_view(self.revert_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_revert",
            ),
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
        """GET: a confirmation showing what will change and asking why; POST (with a reason): puts
        the object back as it was before the entry's change (a new entry records it, reason included)."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        obj = self.get_object(request, admin.utils.unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not (self.revertible and is_admin(request.user) and self.has_change_permission(request, obj)):
            raise PermissionDenied
        entry = get_object_or_404(AuditEntry, pk=entry_id, kind=self.audit_kind, object_id=obj.pk)
        history = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_history",
            args=[obj.pk],
            current_app=self.admin_site.name,
        )
        return revert_confirm(self, request, entry, cancel_url=history, done_url=lambda reverted: history)


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
        """The revert (or restore) of any entry: confirmation with a reason first, as on an object's history."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not is_admin(request.user):
            raise PermissionDenied
        entry = get_object_or_404(AuditEntry, pk=entry_id)
        here = reverse("admin:configuration_auditentry_change", args=[entry.pk])

        def done(reverted):
            return reverse(HISTORY_URLS[reverted.kind], args=[reverted.object_id]) if reverted is not None else here

        return revert_confirm(self, request, entry, cancel_url=here, done_url=done)

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
