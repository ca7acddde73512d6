"""The recompute runs in the admin: the run list, "Recompute now" and each run's progress (polled)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from dashboards.selectors import day_changes
from people.roles import is_admin
from pipeline.models import RecomputeRun
from pipeline.services import recompute_enqueue


def run_changes(run: RecomputeRun):
    """What a succeeded run's day changed (dashboards.selectors.day_changes); None for a run that
    did not publish a day (queued, running, failed, refused)."""
    if run.status != RecomputeRun.Status.SUCCEEDED:
        return None
    return day_changes(run.as_of)


@admin.register(RecomputeRun)
class RecomputeRunAdmin(admin.ModelAdmin):
    list_display = (
        "as_of",
        "status",
        "trigger",
        "started_at",
        "finished_at",
        "accounts_scored",
        "error",
        "progress_link",
    )
    list_filter = ("status", "trigger")
    readonly_fields = [f.name for f in RecomputeRun._meta.fields]
    change_list_template = "admin/pipeline/recomputerun/change_list.html"
    change_form_template = "admin/pipeline/recomputerun/change_form.html"

    def has_add_permission(self, request):
        return False  # runs are started with "Recompute now" (or nightly), never typed in

    def has_change_permission(self, request, obj=None):
        return False  # a run is a record: its page is read-only (no Save buttons that save nothing)

    @admin.display(description="Progress")
    def progress_link(self, run):
        return format_html('<a href="{}">{}/{} chunks</a>', reverse("admin:pipeline_recomputerun_progress", args=[run.pk]),
                           run.chunks_done, run.chunks_total)  # fmt: skip

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name="pipeline_recomputerun_start"),
            path("<int:run_id>/progress/", wrap(self.progress_view), name="pipeline_recomputerun_progress"),
            path(
                "<int:run_id>/progress/status/",
                wrap(self.progress_view),
                {"partial": True},
                name="pipeline_recomputerun_status",
            ),  # fmt: skip
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The run's fields, then what its day changed (as on its progress page)."""
        run = self.get_object(request, admin.utils.unquote(object_id))
        extra = {"changes": run_changes(run)} if run is not None else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

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
                return HttpResponseRedirect(reverse("admin:pipeline_recomputerun_progress", args=[busy.pk]))
            return HttpResponseRedirect(reverse("admin:pipeline_recomputerun_changelist"))
        self.message_user(request, f"Recompute of {run.as_of} queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:pipeline_recomputerun_progress", args=[run.pk]))

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
            "changes": run_changes(run),
        }
        template = (
            "admin/pipeline/recomputerun/partials/status.html"
            if partial
            else "admin/pipeline/recomputerun/progress.html"
        )
        return TemplateResponse(request, template, context)
