"""Task and timeline pages: the task list (filters, CSV, leaders' summary), task actions, manual
tasks, notes and the account timeline (paged with HTMX). Every page is for team members only."""

import csv
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Account
from people import roles
from plays import selectors, services
from plays.forms import DueForm, NoteForm, ReassignForm, SnoozeForm, TaskFilterForm, TaskForm, team_members
from plays.models import Play, Task

PAGE_SIZE = 50
TIMELINE_PAGE = 20


def team_member_required(view):
    """403 for a logged-in user without a CS Portal role (the login middleware handles anonymous)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not roles.role_names(request.user):
            raise PermissionDenied("You need a CS Portal role (CSM, CS Leader or CS Admin).")
        return view(request, *args, **kwargs)

    return wrapped


def _filters(request):
    form = TaskFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    owner_value = data.get("owner") or ""
    owner = None
    if owner_value == "me":
        owner = request.user
    elif owner_value == "none":
        owner = "none"
    elif owner_value.isdigit() and len(owner_value) < 19:
        owner = int(owner_value)
    tasks = selectors.task_list(
        owner=owner, play=data.get("play") or "", status=data.get("status") or "", due=data.get("due") or ""
    )
    return form, tasks


@require_GET
@team_member_required
def task_list(request):
    form, tasks = _filters(request)
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "today": timezone.localdate(),
        "plays": Play.objects.order_by("name").values_list("name", flat=True),
        "members": team_members(),
    }
    if roles.is_leader_or_admin(request.user) and not request.htmx:
        context["summary"] = selectors.tasks_summary(timezone.localdate())
    template = "plays/partials/task_table.html" if request.htmx else "plays/task_list.html"
    return render(request, template, context)


def _safe_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula ('=…', '+…', '-…', '@…' get a leading quote).
    The core CSV writer (in progress elsewhere) replaces this one function."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


def csv_response(header: list[str], rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo(), lineterminator="\n")
    lines = (writer.writerow([_safe_cell(v) for v in row]) for row in [header, *rows])
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@team_member_required
def task_export(request):
    _, tasks = _filters(request)
    rows = (
        [
            t.account.external_id,
            t.account.name,
            t.play.name if t.play else "",
            t.title,
            t.status,
            t.assignee.email if t.assignee else "",
            t.due_date or "",
            t.priority,
            t.why,
            t.created_at.date(),
            t.closed_by.email if t.closed_by else "",
            t.closed_at or "",
        ]
        for t in tasks.iterator(chunk_size=2000)
    )
    header = [
        "account",
        "account_name",
        "play",
        "title",
        "status",
        "assignee",
        "due_date",
        "priority",
        "why",
        "created",
        "closed_by",
        "closed_at",
    ]
    return csv_response(header, rows, "tasks.csv")


def _back(request, task: Task):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(reverse("accounts:detail", args=[task.account_id]) + "#tasks")


@require_POST
@team_member_required
def task_action(request, pk: int, action: str):
    """done, dismiss, reopen, snooze, reassign, due — who and when are recorded with each."""
    task = get_object_or_404(Task.objects.select_related("account"), pk=pk)
    if not selectors.can_edit_task(request.user, task):
        raise PermissionDenied("CSMs act on their own tasks and the tasks of their accounts.")
    if action in ("done", "dismiss", "reopen"):
        status = {"done": Task.Status.DONE, "dismiss": Task.Status.DISMISSED, "reopen": Task.Status.OPEN}[action]
        try:
            services.task_set_status(task=task, status=status, actor=request.user)
        except Exception as exc:  # noqa: BLE001 - a ValidationError the user can read
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
            return _back(request, task)
        messages.success(request, f"“{task.title}” is {task.get_status_display().lower()}.")
        return _back(request, task)
    forms = {"snooze": SnoozeForm, "reassign": ReassignForm, "due": DueForm}
    if action not in forms:
        raise Http404("No such action")
    form = forms[action](request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
        return _back(request, task)
    if action == "snooze":
        services.task_snooze(task=task, until=form.cleaned_data["until"], actor=request.user)
        messages.success(request, f"Snoozed until {form.cleaned_data['until']}.")
    elif action == "reassign":
        services.task_reassign(task=task, assignee=form.cleaned_data["assignee"], actor=request.user)
        messages.success(request, f"Reassigned to {form.cleaned_data['assignee'] or 'nobody'}.")
    else:
        services.task_set_due(task=task, due_date=form.cleaned_data["due_date"], actor=request.user)
        messages.success(request, "Due date changed.")
    return _back(request, task)


def _account(pk: int) -> Account:
    return get_object_or_404(Account.objects.select_related("vertical", "owner"), pk=pk)


@require_POST
@team_member_required
def task_create(request, account_pk: int):
    account = _account(account_pk)
    if not (roles.role_names(request.user) & {roles.CSM, roles.ADMIN, roles.LEADER}):
        raise PermissionDenied
    form = TaskForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Task not added: " + "; ".join(f"{k}: {e}" for k, errs in form.errors.items() for e in errs)
        )
    else:
        services.task_create(account=account, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Task “{form.cleaned_data['title']}” added.")
    return redirect(reverse("accounts:detail", args=[account.pk]) + "#tasks")


@require_POST
@team_member_required
def note_create(request, account_pk: int):
    account = _account(account_pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Note not saved: " + "; ".join(f"{k}: {e}" for k, errs in form.errors.items() for e in errs)
        )
    else:
        services.note_create(
            account=account,
            kind=form.cleaned_data["kind"],
            text=form.cleaned_data["text"],
            author=request.user,
            day=form.cleaned_data["date"],
        )
        messages.success(request, "Note saved to the timeline.")
    return redirect(reverse("accounts:detail", args=[account.pk]) + "#timeline")


def timeline_page(account: Account, number) -> object:
    return Paginator(selectors.timeline(account), TIMELINE_PAGE).get_page(number)


@require_GET
@team_member_required
def timeline(request, account_pk: int):
    """One page of the account's timeline (HTMX swaps it in for "Older")."""
    account = _account(account_pk)
    if not request.htmx:
        return HttpResponseBadRequest("The timeline is part of the account page: open /accounts/<id>/#timeline")
    return render(
        request,
        "plays/partials/timeline_items.html",
        {"account": account, "timeline": timeline_page(account, request.GET.get("page"))},
    )


def account_context(request, account: Account) -> dict:
    """What the account page shows of plays: its open tasks, the forms, the first timeline page."""
    tasks = selectors.account_tasks(account)
    for task in tasks:
        task.editable = selectors.can_edit_task(request.user, task)
    return {
        "open_tasks": tasks,
        "task_form": TaskForm(),
        "note_form": NoteForm(),
        "members": list(team_members()),
        "timeline": timeline_page(account, 1),
        "today": timezone.localdate(),
    }


def home_context(request) -> dict:
    """ "My tasks" for the CSM home: overdue, today, this week."""
    today = timezone.localdate()
    return {"my_tasks": selectors.my_tasks(request.user, today), "today": today}
