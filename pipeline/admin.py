"""The recompute runs in the admin: the run list, "Recompute now" (for today or a past date), each
run's progress (polled) and "Cancel run" for one that is stuck (the watchdog normally does it)."""

from django.conf import settings
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
from pipeline.services import RecomputeNotQueued, recompute_cancel, recompute_date_check, recompute_enqueue


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
    actions = ["cancel_runs"]
    readonly_fields = [f.name for f in RecomputeRun._meta.fields]
    change_list_template = "admin/pipeline/recomputerun/change_list.html"
    change_form_template = "admin/pipeline/recomputerun/change_form.html"

    def has_add_permission(self, request):
        return False  # runs are started with "Recompute now" (or nightly), never typed in

    def has_change_permission(self, request, obj=None):
        return False  # a run is a record: its page is read-only (no Save buttons that save nothing)

    @admin.display(description="Progress")
    def progress_link(self, run):
        return format_html(
            '<a href="{}">{}/{} chunks</a>',
            reverse("admin:pipeline_recomputerun_progress", args=[run.pk]),
            run.chunks_done,
            run.chunks_total,
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name="pipeline_recomputerun_start"),
            path("<int:run_id>/progress/", wrap(self.progress_view), name="pipeline_recomputerun_progress"),
            path("<int:run_id>/cancel/", wrap(self.cancel_view), name="pipeline_recomputerun_cancel"),
            path(
                "<int:run_id>/progress/status/",
                wrap(self.progress_view),
                {"partial": True},
                name="pipeline_recomputerun_status",
            ),
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

    @admin.action(description="Cancel selected runs (releases the recompute lock)")
    def cancel_runs(self, request, queryset):
        if not is_admin(request.user):
            raise PermissionDenied
        ended = [run.pk for run in queryset if recompute_cancel(run_id=run.pk, user=request.user.get_username())]
        if ended:
            self.message_user(
                request,
                f"Cancelled {len(ended)} run(s): {', '.join(map(str, ended))}. The lock is free.",
                messages.SUCCESS,
            )
        else:
            self.message_user(request, "Nothing to cancel: the selected runs had already finished.", messages.WARNING)

    def cancel_view(self, request, run_id):
        """POST: cancel one run (queued, running or scheduled): lock released, marks given back, staging cleared."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._check(request)
        run = get_object_or_404(RecomputeRun, pk=run_id)
        if recompute_cancel(run_id=run.pk, user=request.user.get_username()):
            self.message_user(request, f"Run {run.pk} cancelled; the recompute lock is free.", messages.SUCCESS)
        else:
            self.message_user(
                request, f"Run {run.pk} had already finished ({run.get_status_display()}).", messages.WARNING
            )
        return HttpResponseRedirect(reverse("admin:pipeline_recomputerun_progress", args=[run.pk]))

    def start_view(self, request):
        """POST: queue a recompute of today, or of the date `as_of` names (handed to the workers once
        this request commits)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._check(request)
        changelist = HttpResponseRedirect(reverse("admin:pipeline_recomputerun_changelist"))
        as_of = timezone.localdate()
        if "as_of" in request.POST:
            try:
                as_of = recompute_date_check(request.POST["as_of"])
            except ValueError as exc:
                self.message_user(request, f"Not started: date to score (as_of): {exc}.", messages.ERROR)
                return changelist
        try:
            run = recompute_enqueue(as_of=as_of, trigger="admin")
        except RecomputeNotQueued:
            self.message_user(
                request,
                "Not started: the task broker (Redis) is unreachable, so no worker could take the "
                "run. Nothing is held; try again once /healthz reports the broker up.",
                messages.ERROR,
            )
            return changelist
        if run.status == RecomputeRun.Status.REFUSED:
            busy = RecomputeRun.objects.filter(active_lock=True).first()
            self.message_user(
                request,
                f"Not started: a recompute is already in progress ({run.error.removeprefix('refused: ')}). "
                "Its progress is shown below; start another once it has finished.",
                messages.WARNING,
            )
            if busy is not None:
                return HttpResponseRedirect(reverse("admin:pipeline_recomputerun_progress", args=[busy.pk]))
            return changelist
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
            "cancellable": bool(run.active_lock or run.scheduled_lock),
            "stall_seconds": settings.RECOMPUTE_STALL_SECONDS,
            "opts": self.opts,
            "changes": run_changes(run),
        }
        template = (
            "admin/pipeline/recomputerun/partials/status.html"
            if partial
            else "admin/pipeline/recomputerun/progress.html"
        )
        return TemplateResponse(request, template, context)
