"""The scorecard admin: measures inline, validated as apply_config validates, previewed, audited."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.forms.formsets import all_valid
from django.http import HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path, reverse

from configuration.admin.base import AuditedAdminMixin, DocumentInlineFormSet
from health.metrics_catalog import METRICS
from health.models import DEFAULT_AT_RISK_BELOW, DEFAULT_HEALTHY_AT, Measure, Scorecard
from health.selectors import scorecard_preview
from people.roles import is_admin


class MetricSelect(forms.Select):
    """The metric picker: each option says what the metric means and which way is better."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        info = METRICS.get(value)
        if info:
            option["label"] = f"{info.label} — {'higher' if info.higher_is_better else 'lower'} is better"
            option["attrs"]["title"] = info.meaning
            option["attrs"]["data-meaning"] = info.meaning
        return option


class MeasureForm(forms.ModelForm):
    class Meta:
        model = Measure
        fields = ("position", "metric", "weight", "red", "green")
        widgets = {"metric": MetricSelect, "position": forms.NumberInput(attrs={"style": "width:4em"})}
        help_texts = {
            "red": "Value scored 0 (the measure's worst).",
            "green": "Value scored 100. Below red for metrics where lower is better.",
            "weight": "Greater than 0; measures count in proportion to their weight.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("weight", "red", "green"):  # 5 rather than 5.000
            value = self.initial.get(name)
            if isinstance(value, Decimal):
                self.initial[name] = value.normalize() if value != value.to_integral_value() else value.quantize(1)


class MeasureFormSet(DocumentInlineFormSet):
    kind, child = "scorecards", "measures"
    parent_fields = ("name", "healthy_at", "at_risk_below")

    def parent_item(self, sc: Scorecard) -> dict:
        # Validate as an update of the saved scorecard (its saved name), so its own scope is not a clash.
        saved_name = Scorecard.objects.filter(pk=sc.pk).values_list("name", flat=True).first() if sc.pk else None
        item = {
            "name": saved_name or sc.name or "(new)",
            "active": bool(sc.active),
            "vertical": sc.vertical.name if sc.vertical_id else None,
            "use_case": sc.use_case.name if sc.use_case_id else None,
        }
        for key in ("healthy_at", "at_risk_below"):
            if isinstance(getattr(sc, key), int):
                item[key] = getattr(sc, key)
        return item

    def row_item(self, data: dict) -> dict:
        return {"metric": data["metric"], "weight": data["weight"], "red": data["red"], "green": data["green"]}


class MeasureInline(admin.TabularInline):
    model = Measure
    form = MeasureForm
    formset = MeasureFormSet
    extra = 0
    fields = ("position", "metric", "weight", "red", "green")

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if obj is not None else 1  # a new one starts with an empty row


class ScorecardForm(forms.ModelForm):
    healthy_at = forms.IntegerField(
        min_value=0,
        max_value=100,
        initial=DEFAULT_HEALTHY_AT,
        help_text="Score from which an account is healthy (0–100).",
    )
    at_risk_below = forms.IntegerField(
        min_value=0,
        max_value=100,
        initial=DEFAULT_AT_RISK_BELOW,
        help_text="Scores below this are at risk (0–100, at most healthy at).",
    )

    class Meta:
        model = Scorecard
        fields = ("name", "vertical", "use_case", "active", "healthy_at", "at_risk_below")
        help_texts = {
            "vertical": "Empty: any vertical.",
            "use_case": "The account's primary use case; empty: any.",
            "active": "Two active scorecards can't share a scope (vertical and use case).",
        }


@admin.register(Scorecard)
class ScorecardAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_kind = "scorecards"
    form = ScorecardForm
    change_form_template = "admin/health/scorecard/change_form.html"
    list_display = ("name", "vertical", "use_case", "active", "healthy_at", "at_risk_below")
    list_filter = ("active", "vertical", "use_case")
    search_fields = ("name",)
    inlines = [MeasureInline]

    def get_urls(self):
        view = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", view, name="health_scorecard_preview"),
            path("<path:object_id>/preview/", view, name="health_scorecard_preview"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["metrics"] = list(METRICS.values())
        context["preview_url"] = reverse(
            "admin:health_scorecard_preview", args=[obj.pk] if obj is not None and obj.pk else []
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def preview_view(self, request, object_id=None):
        """POST the change form as it is being edited: band counts saved vs edited, and who moves."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, admin.utils.unquote(object_id)) if object_id else None
        if object_id and obj is None:
            raise PermissionDenied
        allowed = self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        if not (allowed and is_admin(request.user)):
            raise PermissionDenied
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
        form_valid = form.is_valid()
        formsets, _ = self._create_formsets(request, form.instance, change=obj is not None)
        context = {"errors": []}
        if not (all_valid(formsets) and form_valid):
            for field, errs in form.errors.items():
                label = form.fields[field].label if field in form.fields else ""
                context["errors"] += [f"{label}: {e}" if label else e for e in errs]
            for formset in formsets:
                context["errors"] += list(formset.non_form_errors())
                for i, row in enumerate(formset.forms, start=1):
                    for field, errs in row.errors.items():
                        context["errors"] += [
                            f"measure row {i}, {field.replace('__all__', '').replace('_', ' ')}: {e}" for e in errs
                        ]
        else:
            data = form.cleaned_data
            rows = formsets[0].ordered_forms()
            draft = {
                "name": data["name"],
                "active": data["active"],
                "healthy_at": data["healthy_at"],
                "at_risk_below": data["at_risk_below"],
                "vertical_id": data["vertical"].pk if data["vertical"] else None,
                "use_case_id": data["use_case"].pk if data["use_case"] else None,
                "measures": [formsets[0].row_item(f.cleaned_data) for f in rows],
            }
            context["preview"] = scorecard_preview(draft=draft, scorecard_id=obj.pk if obj else None)
        return TemplateResponse(request, "admin/health/scorecard/preview.html", context)
