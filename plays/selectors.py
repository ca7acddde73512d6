"""Reads of plays: task lists and buckets, the account timeline, leader summaries, the digest."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from health.models import HealthScore
from people import roles
from plays.models import PlayFiring, Task, TaskEvent, TimelineNote
from segments.models import SegmentMembership

User = get_user_model()
BAND_ORDER = {"healthy": 3, "neutral": 2, "at_risk": 1}


def can_edit_task(user, task: Task) -> bool:
    """CSMs act on their own tasks, tasks of accounts they own and unassigned ones; leaders and admins on any."""
    names = roles.role_names(user)
    if names & {roles.LEADER, roles.ADMIN}:
        return True
    if roles.CSM not in names:
        return False
    return task.assignee_id in (None, user.pk) or task.account.owner_id == user.pk


def task_list(
    *,
    owner=None,
    play: str = "",
    status: str = "",
    due: str = "",
    account: Account | None = None,
    today: date | None = None,
) -> QuerySet[Task]:
    """Tasks filtered as on the task list: owner (a user, or 'none'), play name, status, due
    ('overdue', 'today', 'week', 'none'), account."""
    today = today or timezone.localdate()
    tasks = Task.objects.for_list()
    if owner == "none":
        tasks = tasks.filter(assignee__isnull=True)
    elif owner is not None:
        tasks = tasks.filter(assignee=owner)
    if play == "manual":
        tasks = tasks.filter(play__isnull=True)
    elif play:
        tasks = tasks.filter(play__name__iexact=play)
    if status:
        tasks = tasks.filter(status=status)
    if due == "overdue":
        tasks = tasks.filter(status=Task.Status.OPEN, due_date__lt=today)
    elif due == "today":
        tasks = tasks.filter(due_date=today)
    elif due == "week":
        tasks = tasks.filter(due_date__gte=today, due_date__lte=today + timedelta(days=7))
    elif due == "none":
        tasks = tasks.filter(due_date__isnull=True)
    if account is not None:
        tasks = tasks.filter(account=account)
    return tasks.order_by("status", "due_date", "-priority", "pk")


def my_tasks(user, today: date, *, limit: int = 25) -> dict[str, list[Task]]:
    """The user's open tasks due within a week, not snoozed: overdue, today, this week (one query)."""
    rows = (
        Task.objects.for_list()
        .open()
        .filter(assignee=user, due_date__lte=today + timedelta(days=7))
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today))
        .order_by("due_date", "-priority", "pk")
    )
    buckets: dict[str, list[Task]] = {"overdue": [], "today": [], "week": []}
    for task in rows[: 3 * limit]:
        key = "overdue" if task.due_date < today else "today" if task.due_date == today else "week"
        if len(buckets[key]) < limit:
            buckets[key].append(task)
    return buckets


def account_tasks(account: Account) -> list[Task]:
    return list(Task.objects.for_list().open().filter(account=account).order_by("due_date", "pk"))


@dataclass
class TimelineItem:
    day: date
    at: datetime | None
    kind: str  # call, meeting, email, note, segment_entered, segment_left, band, task_opened, task_done, task_dismissed
    text: str
    author: str = ""
    system: bool = True


def timeline(account: Account, *, limit: int = 400) -> list[TimelineItem]:
    """Notes and what the system saw, newest first (four queries whatever the history's length)."""
    items: list[TimelineItem] = []
    for note in TimelineNote.objects.filter(account=account).select_related("author")[:limit]:
        items.append(
            TimelineItem(note.date, note.created_at, note.kind, note.text, str(note.author or ""), system=False)
        )
    for stay in SegmentMembership.objects.filter(account=account).select_related("segment")[:limit]:
        items.append(TimelineItem(stay.entered_on, None, "segment_entered", f"Entered segment “{stay.segment.name}”"))
        if stay.left_on:
            items.append(TimelineItem(stay.left_on, None, "segment_left", f"Left segment “{stay.segment.name}”"))
    previous = None
    for day, band, score in (
        HealthScore.objects.filter(account=account).order_by("as_of").values_list("as_of", "band", "score")
    ):
        if previous is not None and band != previous:
            items.append(
                TimelineItem(
                    day,
                    None,
                    "band",
                    f"Band {previous.replace('_', ' ')} → {band.replace('_', ' ')}"
                    + (f" (score {score})" if score is not None else ""),
                )
            )
        previous = band
    events = TaskEvent.objects.filter(task__account=account, kind__in=["opened", "done", "dismissed"]).select_related(
        "task", "actor"
    )
    for event in events[:limit]:
        verb = {"opened": "Task opened", "done": "Task done", "dismissed": "Task dismissed"}[event.kind]
        items.append(
            TimelineItem(
                timezone.localdate(event.at),
                event.at,
                f"task_{event.kind}",
                f"{verb}: {event.task.title}",
                str(event.actor or ""),
            )
        )
    epoch = timezone.make_aware(datetime(1970, 1, 1))
    items.sort(key=lambda i: (i.day, i.at or epoch, not i.system), reverse=True)
    return items


def _band_drops_by_owner(day: date, owner_ids: list[int] | None = None) -> dict[int, list[str]]:
    then = dict(
        HealthScore.objects.filter(as_of=day - timedelta(days=7))
        .exclude(band__in=["unknown"])
        .values_list("account_id", "band")
    )
    now = HealthScore.objects.filter(as_of=day, account__owner__isnull=False, band__in=list(BAND_ORDER))
    if owner_ids is not None:
        now = now.filter(account__owner_id__in=owner_ids)
    out: dict[int, list[str]] = {}
    for account_id, owner, name, band in now.values_list("account_id", "account__owner_id", "account__name", "band"):
        before = then.get(account_id)
        if before in BAND_ORDER and BAND_ORDER[band] < BAND_ORDER[before]:
            out.setdefault(owner, []).append(f"{name}: {before.replace('_', ' ')} → {band.replace('_', ' ')}")
    return out


def digest_for(day: date):
    """(CSM, {"new", "overdue", "drops"}) for every CSM with an email and something to report."""
    csms = list(User.objects.filter(groups__name=roles.CSM, is_active=True).exclude(email="").order_by("pk"))
    if not csms:
        return []
    ids = [u.pk for u in csms]
    since = timezone.now() - timedelta(days=1)
    tasks = Task.objects.open().filter(assignee_id__in=ids).select_related("account")
    new: dict[int, list[str]] = {}
    overdue: dict[int, list[str]] = {}
    for task in tasks.filter(Q(created_at__gte=since) | Q(due_date__lt=day)).order_by("due_date", "pk"):
        line = f"{task.account.name}: {task.title}" + (f" (due {task.due_date})" if task.due_date else "")
        if task.created_at >= since:
            new.setdefault(task.assignee_id, []).append(line)
        if task.due_date and task.due_date < day:
            overdue.setdefault(task.assignee_id, []).append(line)
    drops = _band_drops_by_owner(day, ids)
    out = []
    for user in csms:
        digest = {"new": new.get(user.pk, []), "overdue": overdue.get(user.pk, []), "drops": drops.get(user.pk, [])}
        if any(digest.values()):
            out.append((user, digest))
    return out


def tasks_summary(today: date) -> dict[str, list[dict]]:
    """For leaders: per CSM and per vertical, open, overdue and closed in the last 30 days (two queries)."""
    since = timezone.now() - timedelta(days=30)
    counts = {
        "open": Count("id", filter=Q(status=Task.Status.OPEN)),
        "overdue": Count("id", filter=Q(status=Task.Status.OPEN, due_date__lt=today)),
        "closed_30d": Count("id", filter=~Q(status=Task.Status.OPEN) & Q(closed_at__gte=since)),
    }
    per_csm = list(
        Task.objects.values("assignee_id", "assignee__username", "assignee__first_name", "assignee__last_name")
        .annotate(**counts)
        .order_by("-overdue", "-open", "assignee__username")
    )
    for row in per_csm:
        full = f"{row['assignee__first_name']} {row['assignee__last_name']}".strip()
        row["name"] = full or row["assignee__username"] or "Unassigned"
    per_vertical = list(
        Task.objects.values("account__vertical__name")
        .annotate(**counts)
        .order_by("-overdue", "-open", "account__vertical__name")
    )
    return {"per_csm": per_csm, "per_vertical": per_vertical}


def firing_list() -> QuerySet[PlayFiring]:
    return PlayFiring.objects.select_related("play", "account", "task").order_by("-day", "-pk")
