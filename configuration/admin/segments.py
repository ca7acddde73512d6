"""The segment admin: the rule builder, preview of matches, audit and revert."""

import re

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from configuration.admin.base import AuditedAdminMixin
from configuration.forms import SegmentAdminForm, parse_rule_text
from core.errors import Problem
from segments.models import Segment
from segments.rules import describe_rule
from segments.selectors import rule_builder_options, rule_preview

ID = re.compile(r"[0-9]{1,18}")


@admin.register(Segment)
class SegmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_kind = "segments"  # saves, deletes, history and revert: configuration/admin.py
    list_display = ("name", "rule_in_words", "touch_model", "priority", "active", "updated_at")
    readonly_fields = ("saved_rule_in_words",)
    list_filter = ("active", "touch_model")
    search_fields = ("name", "description")
    form = SegmentAdminForm
    change_form_template = "admin/segments/segment/change_form.html"

    class Media:
        css = {"all": ["css/rule_builder.css"]}
        js = ["js/rule_builder.js"]

    @admin.display(description="Rule in plain words")
    def rule_in_words(self, segment: Segment) -> str:
        """The saved rule as the segment pages word it."""
        return describe_rule(segment.rule) if segment and segment.rule else "—"

    @admin.display(description="Saved rule in plain words")
    def saved_rule_in_words(self, segment: Segment) -> str:
        """On the change form: the rule as saved (the builder above edits it; Preview matches
        words the rule being edited)."""
        return self.rule_in_words(segment)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()  # a new segment has no saved rule yet

    def get_urls(self):
        # admin_view first: non-staff are sent to the login before anything else is answered.
        preview = self.admin_site.admin_view(require_POST(self.preview_view))
        return [path("preview/", preview, name="segments_segment_preview"), *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["rule_builder"] = {
            **rule_builder_options(),
            "preview_url": reverse("admin:segments_segment_preview"),
            "segment": obj.pk if obj else None,
        }
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def preview_view(self, request):
        """Who the rule being edited would match, POSTed by the change form's Preview button."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        segment = None
        segment_id = request.POST.get("segment", "").strip()
        if segment_id:
            segment = Segment.objects.filter(pk=int(segment_id)).first() if ID.fullmatch(segment_id) else None
            if segment is None:
                return self._preview_errors(request, [Problem("segment", f"no segment with id '{segment_id}'")])
        allowed = self.has_change_permission(request, segment) if segment else self.has_add_permission(request)
        if not allowed:
            raise PermissionDenied
        text = request.POST.get("rule", "").strip()
        if not text:
            return self._preview_errors(request, [Problem("rule", "a rule is required; add at least one condition")])
        rule, problem = parse_rule_text(text)
        if problem is not None:
            return self._preview_errors(request, [problem])
        result = rule_preview(rule, segment=segment)  # an invalid rule comes back as its `errors`
        context = {**result, "segment": segment, "rule_text": describe_rule(rule)}
        return TemplateResponse(request, "admin/segments/segment/preview.html", context)

    def _preview_errors(self, request, errors):
        return TemplateResponse(request, "admin/segments/segment/preview.html", {"errors": errors})
