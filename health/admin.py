from django.contrib import admin

from cs_portal.paginators import CappedCountPaginator
from health.models import AccountMetrics, HealthScore, Measure, RecomputeRun, Scorecard


class MeasureInline(admin.TabularInline):
    model = Measure
    extra = 0


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):
    list_display = ("name", "vertical", "use_case", "active", "healthy_at", "at_risk_below")
    list_filter = ("active", "vertical", "use_case")
    search_fields = ("name",)
    inlines = [MeasureInline]


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin):
    list_display = ("account", "as_of", "score", "band", "scorecard", "tier", "touch_model")
    list_filter = ("band", "as_of", "scorecard")
    search_fields = ("account__name", "account__external_id")
    list_select_related = ("account", "scorecard", "tier")
    raw_id_fields = ("account",)
    show_full_result_count = False
    paginator = CappedCountPaginator  # a row per account and day: never count them all


@admin.register(AccountMetrics)
class AccountMetricsAdmin(admin.ModelAdmin):
    list_display = ("account", "as_of", "active_days_30d", "active_days_90d", "events_30d", "days_since_last_activity")
    list_filter = ("as_of",)
    search_fields = ("account__name", "account__external_id")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    show_full_result_count = False
    paginator = CappedCountPaginator  # a row per account and day: never count them all


@admin.register(RecomputeRun)
class RecomputeRunAdmin(admin.ModelAdmin):
    list_display = ("as_of", "status", "trigger", "started_at", "finished_at", "accounts_scored", "error")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in RecomputeRun._meta.fields]
