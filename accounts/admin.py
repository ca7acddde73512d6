from django.contrib import admin
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from accounts import admin_imports, services
from accounts.models import (
    Account,
    AccountUseCase,
    ArrChange,
    DirtyAccount,
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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the use cases (inline) are saved too: the mark covers the whole edit.
        services.account_admin_saved(account=form.instance)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(admin_imports.import_view), name="accounts_import"),
            path("import/template/<str:kind>.csv", wrap(admin_imports.template_view), name="accounts_import_template"),
            path("import/<int:job_id>/", wrap(admin_imports.import_job_view), name="accounts_import_job"),
            path(
                "import/<int:job_id>/status/",
                wrap(admin_imports.import_job_view),
                {"partial": True},
                name="accounts_import_job_status",
            ),
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


@admin.register(DirtyAccount)
class DirtyAccountAdmin(admin.ModelAdmin):
    """Accounts waiting for the incremental run (SPEC §4.5): read-only; runs delete the marks."""

    list_display = ("account", "reason", "marked_at", "waiting", "claimed_by")
    list_filter = ("reason",)
    list_select_related = ("account",)
    search_fields = ("account__name", "account__external_id")
    readonly_fields = ("account", "marked_at", "reason", "claimed_by")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Waiting")
    def waiting(self, mark):
        return timesince(mark.marked_at, timezone.now())

    def changelist_view(self, request, extra_context=None):
        runs = reverse("admin:pipeline_recomputerun_changelist") + "?trigger__startswith=incremental"
        extra = {
            "title": "Accounts waiting for the incremental run",
            "subtitle": format_html('<a href="{}">The last incremental runs</a>', runs),
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})
