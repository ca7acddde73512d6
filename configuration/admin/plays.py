"""The play admin: the same validation as the config document, a preview ("would fire for 37
accounts today", the first 20 with why) before saving, audit history and revert."""

import json
from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.models import Account
from configuration.admin.base import AuditedAdminMixin
from configuration.validation import validate_document
from health.selectors import results_day
from plays import secrets as play_secrets
from plays.models import Play, PlayFiring
from plays.services import describe_hits
from plays.triggers import detect
from segments.rules import RuleError, describe_rule

PREVIEW_ROWS = 20


class JSONText(forms.CharField):
    """JSON typed in a textarea; '' means null (or the empty list for `empty`)."""

    def __init__(self, *, empty=None, **kwargs):
        self.empty = empty
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "cols": 80, "spellcheck": "false"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        return "" if value in (None, [], {}) else json.dumps(value, ensure_ascii=False)

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return self.empty
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


class PlayAdminForm(forms.ModelForm):
    trigger = JSONText(
        required=True,
        help_text='e.g. {"type": "segment_entered", "segment": "Education at risk"}; types: '
        "segment_entered / segment_left (segment), band_became (band), score_dropped (points), "
        "renewal_within (days), driver_unused",
    )
    condition = JSONText(
        help_text='Optional: a segment rule, e.g. {"field": "days_to_renewal", "op": "between", "value": [0, 120]}'
    )
    notify = JSONText(empty=[], help_text='Channels: ["email", "slack://…", "msteams://…"] (Apprise URLs)')
    webhook_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs the webhook body (HMAC-SHA256). Leave empty to keep the stored one.",
    )

    class Meta:
        model = Play
        fields = [
            "name",
            "active",
            "trigger",
            "condition",
            "cooldown_days",
            "creates_task",
            "task_title",
            "task_body",
            "task_assignee",
            "task_due_in_days",
            "task_priority",
            "notify",
            "webhook_url",
            "webhook_secret",
        ]

    FIELD_OF = {
        "name": "name",
        "active": "active",
        "trigger": "trigger",
        "condition": "condition",
        "cooldown_days": "cooldown_days",
        "task": "task_title",
        "notify": "notify",
        "webhook": "webhook_url",
    }
    TASK_FIELD = {
        "title": "task_title",
        "body": "task_body",
        "assignee": "task_assignee",
        "due_in_days": "task_due_in_days",
        "priority": "task_priority",
    }

    def document_item(self, data: dict) -> dict:
        """The form as one item of the document's `plays` list (what apply_config would be given)."""
        secret = data.get("webhook_secret") or ""
        if not secret and self.instance.pk and self.instance.webhook_secret:
            secret = play_secrets.mask_secret(self.instance.webhook_secret)
        stored = self.instance.notify if self.instance.pk else []
        return {
            "name": (data.get("name") or "").strip(),
            "active": bool(data.get("active")),
            "trigger": data.get("trigger") if data.get("trigger") is not None else {},
            "condition": data.get("condition"),
            "cooldown_days": data.get("cooldown_days") or 0,
            "task": {
                "title": data.get("task_title") or "",
                "body": data.get("task_body") or "",
                "assignee": data.get("task_assignee") or "owner",
                "due_in_days": data.get("task_due_in_days") or 0,
                "priority": data.get("task_priority") or "normal",
            }
            if data.get("creates_task")
            else None,
            "notify": [play_secrets.mask_channel(c) if c in stored else c for c in (data.get("notify") or [])],
            "webhook": {"url": data.get("webhook_url") or "", "secret": secret} if data.get("webhook_url") else None,
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("notify") is not None and not isinstance(data["notify"], list):
            self.add_error("notify", "expected a list of channels")
            return data
        item = self.document_item(data)
        for error in validate_document({"version": 1, "plays": [item]}):
            where, _, message = error.partition(": ")
            parts = where.split(".")
            field = None
            if len(parts) > 1:
                field = self.FIELD_OF.get(parts[1].split("[")[0])
                if parts[1] == "task" and len(parts) > 2:
                    field = self.TASK_FIELD.get(parts[2], "task_title")
                if parts[1] == "webhook" and len(parts) > 2 and parts[2] == "secret":
                    field = "webhook_secret"
            self.add_error(field, f"{'.'.join(parts[1:]) or 'play'}: {message}")
        return data

    def save(self, commit=True):
        play = super().save(commit=False)
        if not self.cleaned_data.get("webhook_secret"):
            play.webhook_secret = (
                Play.objects.filter(pk=play.pk).values_list("webhook_secret", flat=True).first() or ""
                if play.pk
                else ""
            )
        if not play.webhook_url:
            play.webhook_secret = ""
        if play.trigger.get("type") == "band_became" and isinstance(play.trigger.get("band"), str):
            play.trigger["band"] = play.trigger["band"].lower()
        if commit:
            play.save()
        return play


@admin.register(Play)
class PlayAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_kind = "plays"
    form = PlayAdminForm
    list_display = (
        "name",
        "active",
        "trigger_type",
        "condition_in_words",
        "cooldown_days",
        "task_assignee",
        "updated_at",
    )
    readonly_fields = ("condition_in_words",)
    list_filter = ("active",)
    search_fields = ("name",)
    change_form_template = "admin/plays/play/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "active", "trigger", "condition", "condition_in_words", "cooldown_days"]}),
        (
            "Task",
            {
                "fields": [
                    "creates_task",
                    "task_title",
                    "task_body",
                    "task_assignee",
                    "task_due_in_days",
                    "task_priority",
                ],
                "description": "Templates may use {account.name}, {account.vertical}, {account.days_to_renewal}, "
                "{health.score}, {health.band}, {trigger.reason}, {measure.text}, {play.name}…",
            },
        ),
        ("Notify and webhook", {"fields": ["notify", "webhook_url", "webhook_secret"]}),
    ]

    @admin.display(description="Condition in plain words")
    def condition_in_words(self, play: Play) -> str:
        return describe_rule(play.condition) if play and play.condition else "—"

    def get_urls(self):
        preview = self.admin_site.admin_view(require_POST(self.preview_view))
        return [path("preview/", preview, name="plays_play_preview"), *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["preview_url"] = reverse("admin:plays_play_preview")
        context["play_id"] = obj.pk if obj else ""
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def preview_view(self, request):
        """Who the play being edited would fire for on the latest results day, with why."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        raw_id = request.POST.get("play_id", "")
        instance = Play.objects.filter(pk=int(raw_id)).first() if raw_id.isdigit() and len(raw_id) < 19 else None
        form = PlayAdminForm(request.POST, instance=instance)
        if not form.is_valid():
            errors = [f"{k}: {e}" if k != "__all__" else e for k, errs in form.errors.items() for e in errs]
            return TemplateResponse(request, "admin/plays/play/preview.html", {"errors": errors})
        play = form.save(commit=False)
        day = results_day()
        if day is None:
            return TemplateResponse(
                request, "admin/plays/play/preview.html", {"errors": ["no results yet: run a recompute first"]}
            )
        try:
            hits = detect(play, day)
        except RuleError as exc:
            return TemplateResponse(request, "admin/plays/play/preview.html", {"errors": exc.errors})
        cooling = set()
        if instance is not None:
            cooling = set(
                PlayFiring.objects.filter(
                    play=instance, day__gt=day - timedelta(days=max(instance.cooldown_days, 1)), day__lte=day
                ).values_list("account_id", flat=True)
            )
        ids = [pk for pk in hits if pk not in cooling]
        first = list(
            Account.objects.filter(pk__in=ids)
            .order_by("-arr", "name", "pk")
            .values_list("pk", flat=True)[:PREVIEW_ROWS]
        )
        described = describe_hits(play, day, {pk: hits[pk] for pk in first})
        rows = [described[pk] for pk in first]
        context = {
            "count": len(ids),
            "day": day,
            "rows": rows,
            "cooling": len(cooling & set(hits)),
            "play": play,
            "condition_text": describe_rule(play.condition) if play.condition else "",
        }
        return TemplateResponse(request, "admin/plays/play/preview.html", context)
