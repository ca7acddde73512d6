from django import forms
from django.contrib import admin

from accounts.models import Feature
from configuration.admin.base import AuditedAdminMixin, DocumentInlineFormSet
from journeys.models import Journey, Stage


class FeatureChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        # The name people know (the key is what the rules document and the imports use).
        return obj.name or obj.key


class StageForm(forms.ModelForm):
    features = FeatureChoices(
        queryset=Feature.objects.order_by("key"),
        to_field_name="key",
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Every listed feature must reach the minimum (Ctrl/⌘-click to pick several).",
    )

    class Meta:
        model = Stage
        fields = ("position", "name", "features", "min_events_90d")
        widgets = {"position": forms.NumberInput(attrs={"style": "width:4em", "class": "stage-position"})}
        help_texts = {"min_events_90d": "Events of each feature in the last 90 days to reach the stage."}


class StageFormSet(DocumentInlineFormSet):
    kind, child = "journeys", "stages"
    parent_fields = ("vertical", "use_case")

    def parent_item(self, journey: Journey) -> dict | None:
        if not (journey.vertical_id and journey.use_case_id):
            return None  # the journey form already says what is missing
        return {"vertical": journey.vertical.name, "use_case": journey.use_case.name}

    def row_item(self, data: dict) -> dict:
        return {
            "name": data["name"],
            "features": sorted(f.key for f in data["features"]),
            "min_events_90d": data["min_events_90d"],
        }


class StageInline(admin.TabularInline):
    model = Stage
    form = StageForm
    formset = StageFormSet
    extra = 0
    fields = ("position", "name", "features", "min_events_90d")

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if obj is not None else 1  # a new one starts with an empty row


@admin.register(Journey)
class JourneyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_kind = "journeys"
    list_display = ("__str__", "vertical", "use_case")
    list_filter = ("vertical", "use_case")
    inlines = [StageInline]
    change_form_template = "admin/journeys/journey/change_form.html"

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        # Positions as the admin ordered them, renumbered 0, 1, 2… (ties keep their row order).
        stages = sorted(form.instance.stages.all(), key=lambda st: (st.position, st.pk))
        for position, stage in enumerate(stages):
            if stage.position != position:
                Stage.objects.filter(pk=stage.pk).update(position=position)
