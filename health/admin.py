"""Admins of the daily results (read-mostly lists); the runs are pipeline.admin's."""

from django.contrib import admin

from core.paginators import CappedCountPaginator
from health.models import AccountMetrics, HealthScore


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin):
    list_display = ("account", "as_of", "score", "band", "scorecard", "tier")
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
