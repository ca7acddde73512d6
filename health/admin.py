"""Admins of the daily results (read-mostly lists) and of the recompute runs."""

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.paginators import CappedCountPaginator
from health.models import AccountMetrics, HealthScore, RecomputeRun
from health.services import recompute_enqueue
from people.roles import is_admin


@admin.register(HealthScore)
class HealthScoreAdmin(admin.ModelAdmin):
    list_display = ("account", "as_of", "score", "band", "scorecard", "tier", "touch")
    list_filter = ("band", "as_of", "scorecard")
    search_fields = ("account__name", "account__external_id")
    list_select_related = ("account", "scorecard", "tier")
    raw_id_fields = ("account",)
    show_full_result_count = False
    paginator = CappedCountPaginator  # a row per account and day: never count them all

    @admin.display(description="Touch model", ordering="touch_model")
    def touch(self, obj):
        # The labels live with the segments (a later layer): read from the model registry, not imported.
        choices = dict(apps.get_model("segments", "Segment")._meta.get_field("touch_model").choices)
        return choices.get(obj.touch_model, obj.touch_model) or "—"


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
    list_display = ("as_of", "status", "trigger", "started_at", "finished_at", "accounts_scored", "error", "progress_link")
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in RecomputeRun._meta.fields]
    change_list_template = "admin/health/recomputerun/change_list.html"

    def has_add_permission(self, request):
        return False  # runs are started with "Recompute now" (or nightly), never typed in

    @admin.display(description="Progress")
    def progress_link(self, run):
        return format_html('<a href="{}">{}/{} chunks</a>', reverse("admin:health_recomputerun_progress", args=[run.pk]),
                           run.chunks_done, run.chunks_total)  # fmt: skip

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name="health_recomputerun_start"),
            path("<int:run_id>/progress/", wrap(self.progress_view), name="health_recomputerun_progress"),
            path("<int:run_id>/progress/status/", wrap(self.progress_view), {"partial": True},
                 name="health_recomputerun_status"),  # fmt: skip
            *super().get_urls(),
        ]

    def _check(self, request):
        if not (is_admin(request.user) and self.has_view_permission(request)):
            raise PermissionDenied

    def start_view(self, request):
        """POST: queue a recompute of today (handed to the workers once this request commits)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._check(request)
        run = recompute_enqueue(as_of=timezone.localdate(), trigger="admin")
        if run.status == RecomputeRun.Status.REFUSED:
            busy = RecomputeRun.objects.filter(active_lock=True).first()
            self.message_user(request, f"Not started: a recompute is already in progress ({run.error.removeprefix('refused: ')}). "
                              "Its progress is shown below; start another once it has finished.", messages.WARNING)  # fmt: skip
            if busy is not None:
                return HttpResponseRedirect(reverse("admin:health_recomputerun_progress", args=[busy.pk]))
            return HttpResponseRedirect(reverse("admin:health_recomputerun_changelist"))
        self.message_user(request, f"Recompute of {run.as_of} queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:health_recomputerun_progress", args=[run.pk]))

    def progress_view(self, request, run_id, partial=False):
        """The run's progress; the status block re-polls itself (HTMX) until the run has finished."""
        self._check(request)
        run = get_object_or_404(RecomputeRun, pk=run_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Recompute of {run.as_of}",
            "run": run,
            "finished": run.status not in (RecomputeRun.Status.QUEUED, RecomputeRun.Status.RUNNING),
            "opts": self.opts,
        }
        template = "admin/health/recomputerun/partials/status.html" if partial else "admin/health/recomputerun/progress.html"
        return TemplateResponse(request, template, context)
