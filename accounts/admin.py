from django.contrib import admin
from django.urls import path

from accounts import admin_imports
from accounts.models import (
    Account,
    AccountUseCase,
    ArrChange,
    Feature,
    NpsResponse,
    StatedDriver,
    Tier,
    UseCase,
    Vertical,
)


@admin.register(Vertical, UseCase)
class NamedAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "description")
    search_fields = ("name",)


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ("key", "name")
    search_fields = ("key", "name")


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("name", "min_arr")


class AccountUseCaseInline(admin.TabularInline):
    model = AccountUseCase
    extra = 0
    autocomplete_fields = ("use_case",)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "vertical", "primary_use_case", "arr", "owner", "renewal_date", "churned_on")
    list_filter = ("vertical", "primary_use_case", "persona", ("churned_on", admin.EmptyFieldListFilter), "owner")
    search_fields = ("name", "external_id")
    list_select_related = ("vertical", "primary_use_case", "owner")
    autocomplete_fields = ("vertical", "primary_use_case", "owner")
    inlines = [AccountUseCaseInline]
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False  # one count of the filtered list, not a second one of every account

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(admin_imports.import_view), name="accounts_import"),
            path("import/<int:job_id>/", wrap(admin_imports.import_job_view), name="accounts_import_job"),
            path("import/<int:job_id>/status/", wrap(admin_imports.import_job_view), {"partial": True},
                 name="accounts_import_job_status"),  # fmt: skip
            *super().get_urls(),
        ]


@admin.register(NpsResponse)
class NpsResponseAdmin(admin.ModelAdmin):
    list_display = ("account", "date", "score", "comment")
    list_filter = ("score",)
    search_fields = ("account__name", "account__external_id", "comment")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(ArrChange)
class ArrChangeAdmin(admin.ModelAdmin):
    list_display = ("account", "date", "previous_arr", "arr")
    search_fields = ("account__name", "account__external_id")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    date_hierarchy = "date"


@admin.register(StatedDriver)
class StatedDriverAdmin(admin.ModelAdmin):
    list_display = ("account", "feature", "note", "recorded_by", "recorded_at")
    list_filter = ("feature",)
    search_fields = ("account__name", "note")
    list_select_related = ("account", "feature", "recorded_by")
    raw_id_fields = ("account",)
