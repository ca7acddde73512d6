from django.contrib import admin

from journeys.models import Journey, Stage


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ("position", "name", "features", "min_events_90d")


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "vertical", "use_case")
    list_filter = ("vertical", "use_case")
    inlines = [StageInline]
