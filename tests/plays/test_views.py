"""The task pages, the CSM home's "My tasks", the account page's tasks and timeline: who may see
and do what, query counts with several rows, actions with who and when, CSV, the admin preview."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from configuration.models import AuditEntry
from plays.models import Task, TaskEvent, TimelineNote
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    NoteFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    TaskFactory,
    UserFactory,
    VerticalFactory,
    play_apply,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def nobody(db):
    return UserFactory(username="nobody")  # logged in, no role


@pytest.fixture
def book(csm):
    today = timezone.localdate()
    edu = VerticalFactory(name="Education")
    accounts = [AccountFactory(vertical=edu, owner=csm, name=f"School {i}") for i in range(4)]
    for i, account in enumerate(accounts):
        TaskFactory(account=account, assignee=csm, title=f"overdue {i}", due_date=today - dt.timedelta(days=2))
        TaskFactory(account=account, assignee=csm, title=f"today {i}", due_date=today)
        TaskFactory(account=account, assignee=csm, title=f"week {i}", due_date=today + dt.timedelta(days=4))
        NoteFactory(account=account, author=csm)
    return accounts


def pages(book):
    a = book[0]
    task = Task.objects.filter(account=a).first()
    return {
        "tasks": ("get", reverse("plays:tasks"), {}),
        "tasks-csv": ("get", reverse("plays:tasks-export"), {}),
        "timeline": ("get", reverse("plays:timeline", args=[a.pk]) + "?page=1", {"HTTP_HX_REQUEST": "true"}),
        "task-done": ("post", reverse("plays:task-action", args=[task.pk, "done"]), {}),
        "task-create": ("post", reverse("plays:task-create", args=[a.pk]), {}),
        "note-create": ("post", reverse("plays:note-create", args=[a.pk]), {}),
        "home": ("get", reverse("home"), {}),
        "account": ("get", reverse("accounts:detail", args=[a.pk]), {}),
    }


OK = {
    "tasks": 200,
    "tasks-csv": 200,
    "timeline": 200,
    "task-done": 302,
    "task-create": 302,
    "note-create": 302,
    "home": 200,
    "account": 200,
}
PLAYS_PAGES = ["tasks", "tasks-csv", "timeline", "task-done", "task-create", "note-create"]


@pytest.mark.parametrize("who", ["anonymous", "nobody", "csm", "leader", "cs_admin"])
def test_permission_matrix(request, client_for, book, who):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    client = client_for(user)
    for name, (method, url, headers) in pages(book).items():
        data = (
            {"title": "Call", "priority": "normal", "kind": "call", "date": "2026-06-30", "text": "hi"}
            if method == "post"
            else {}
        )
        response = getattr(client, method)(url, data, **headers)
        if who == "anonymous":
            assert response.status_code == 302 and "/login/" in response["Location"], name
        elif who == "nobody":
            if name in PLAYS_PAGES:
                assert response.status_code == 403, name
        else:
            assert response.status_code == OK[name], (name, response.status_code)


def test_csm_cannot_close_a_colleagues_task_on_someone_elses_account(client_for, csm, leader):
    other = UserFactory(username="robin", roles=["CSM"])
    task = TaskFactory(account=AccountFactory(owner=other), assignee=other)
    response = client_for(csm).post(reverse("plays:task-action", args=[task.pk, "done"]))
    assert response.status_code == 403
    assert client_for(leader).post(reverse("plays:task-action", args=[task.pk, "done"])).status_code == 302


def test_home_leads_with_my_tasks_in_buckets(client_for, csm, book, django_assert_num_queries):
    client = client_for(csm)
    client.get(reverse("home"))
    body = client.get(reverse("home")).content.decode()
    assert body.index('id="my-tasks"') < body.index("My book by vertical")
    assert "Overdue (4)" in body and "Due today (4)" in body and "This week (4)" in body
    # Snoozed tasks and other people's stay off.
    Task.objects.filter(title="week 0").update(snoozed_until=timezone.localdate() + dt.timedelta(days=1))
    TaskFactory(account=book[0], assignee=UserFactory(username="robin"), due_date=timezone.localdate())
    assert "This week (3)" in client.get(reverse("home")).content.decode()


def test_home_query_count_does_not_grow_with_tasks(client_for, csm, book, django_assert_max_num_queries):
    client = client_for(csm)
    client.get(reverse("home"))
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("home"))
    for account in book:
        for n in range(5):
            TaskFactory(account=account, assignee=csm, due_date=timezone.localdate() + dt.timedelta(days=n))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("home"))


def test_task_list_query_count(client_for, leader, book, django_assert_num_queries):
    client = client_for(leader)
    client.get(reverse("plays:tasks"))
    # session, user, roles, count, page, plays, members, summary per CSM, per vertical
    with django_assert_num_queries(9):
        response = client.get(reverse("plays:tasks"))
    assert response.content.decode().count('class="task"') == 12


def test_task_list_filters_and_leader_summary(client_for, leader, csm, book):
    client = client_for(leader)
    body = client.get(reverse("plays:tasks"), {"due": "overdue"}).content.decode()
    assert body.count('class="task"') == 4 and "overdue 0" in body and "today 0" not in body
    assert 'id="tasks-per-csm"' in body and "Casey" in body
    assert (
        client.get(reverse("plays:tasks"), {"owner": csm.pk, "status": "done"}).content.decode().count('class="task"')
        == 0
    )
    assert (
        client.get(reverse("plays:tasks"), {"play": "manual", "owner": "none"}).content.decode().count('class="task"')
        == 0
    )
    partial = client.get(reverse("plays:tasks"), {"due": "today"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and partial.count('class="task"') == 4
    # CSMs do not get the leaders' summary.
    assert 'id="tasks-per-csm"' not in client_for(csm).get(reverse("plays:tasks")).content.decode()


def test_csv_is_formula_safe(client_for, csm):
    TaskFactory(account=AccountFactory(name="=HYPERLINK(1)"), title="+call", assignee=csm)
    response = client_for(csm).get(reverse("plays:tasks-export"))
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("account,account_name,play,title,status")
    assert "'=HYPERLINK(1)" in text and "'+call" in text


def test_done_dismiss_reassign_snooze_record_who_and_when(client_for, csm, book):
    client = client_for(csm)
    task = Task.objects.get(title="today 0")
    robin = UserFactory(username="robin", roles=["CSM"])
    later = timezone.localdate() + dt.timedelta(days=3)
    client.post(reverse("plays:task-action", args=[task.pk, "snooze"]), {"until": later.isoformat()})
    client.post(reverse("plays:task-action", args=[task.pk, "reassign"]), {"assignee": robin.pk})
    client.post(reverse("plays:task-action", args=[task.pk, "done"]), {"next": "https://evil.example.com/"})
    task.refresh_from_db()
    assert (task.status, task.closed_by, task.assignee, task.snoozed_until) == ("done", csm, robin, later)
    assert task.closed_at is not None
    assert list(TaskEvent.objects.filter(task=task).order_by("id").values_list("kind", "actor")) == [
        ("snoozed", csm.pk),
        ("reassigned", csm.pk),
        ("done", csm.pk),
    ]
    other = Task.objects.get(title="week 0")
    response = client.post(reverse("plays:task-action", args=[other.pk, "dismiss"]), {"next": "/tasks/"})
    assert response["Location"] == "/tasks/"
    assert Task.objects.get(pk=other.pk).status == "dismissed"
    bad = client.post(reverse("plays:task-action", args=[other.pk, "snooze"]), {"until": "2000-01-01"}, follow=True)
    assert "pick a day after today" in bad.content.decode()


def test_account_page_shows_open_tasks_with_why_and_the_timeline(client_for, csm):
    D = dt.date(2026, 6, 30)
    account = AccountFactory(name="Lincoln High", owner=csm)
    segment = SegmentFactory(name="Quiet", rule={"field": "arr", "op": "gt", "value": 0})
    SegmentMembershipFactory(segment=segment, account=account, entered_on=D - dt.timedelta(days=9), left_on=D)
    HealthScoreFactory(account=account, as_of=D - dt.timedelta(days=1), score=50, band="neutral")
    HealthScoreFactory(account=account, as_of=D, score=30, band="at_risk")
    TaskFactory(
        account=account,
        assignee=csm,
        title="Call Lincoln",
        why="entered segment 'Quiet' on 2026-06-30: health 30, at risk",
    )
    client = client_for(csm)
    client.post(
        reverse("plays:note-create", args=[account.pk]),
        {"kind": "call", "date": "2026-06-30", "text": "Spoke to the principal"},
    )
    body = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert "Call Lincoln" in body and "entered segment &#x27;Quiet&#x27; on 2026-06-30" in body
    timeline = body[body.index('id="timeline"') :]
    assert (
        timeline.index("Spoke to the principal")
        < timeline.index("Band neutral → at risk")
        < timeline.index("Entered segment")
    )
    assert "Left segment “Quiet”" in timeline and "Task opened" not in timeline  # factory tasks have no events
    assert TimelineNote.objects.get().author == csm


def test_timeline_is_paged_with_htmx(client_for, csm):
    account = AccountFactory()
    for n in range(25):
        NoteFactory(account=account, date=dt.date(2026, 1, 1) + dt.timedelta(days=n), text=f"note {n}")
    client = client_for(csm)
    body = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert "note 24" in body and "note 4<" not in body and f'hx-get="/accounts/{account.pk}/timeline/?page=2"' in body
    second = client.get(
        reverse("plays:timeline", args=[account.pk]), {"page": 2}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "note 4" in second and "note 0" in second and "note 5<" not in second and "Older" not in second
    assert client.get(reverse("plays:timeline", args=[account.pk])).status_code == 400  # not HTMX: part of the page


def test_manual_task_from_the_account_page(client_for, csm):
    account = AccountFactory(owner=csm)
    response = client_for(csm).post(
        reverse("plays:task-create", args=[account.pk]),
        {"title": "Send the QBR deck", "assignee": csm.pk, "due_date": "2026-07-01", "priority": "high"},
    )
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.play, task.title, task.assignee, task.priority, task.created_by) == (
        None,
        "Send the QBR deck",
        csm,
        "high",
        csm,
    )
    client_for(csm).post(reverse("plays:task-create", args=[account.pk]), {"title": ""})
    assert Task.objects.count() == 1


def test_admin_preview_says_how_many_and_why(client_for, cs_admin):
    D = dt.date(2026, 6, 30)
    edu = VerticalFactory(name="Education")
    for i in range(25):
        account = AccountFactory(vertical=edu, arr=1000 + i)
        HealthScoreFactory(account=account, as_of=D - dt.timedelta(days=7), score=90, band="healthy")
        HealthScoreFactory(account=account, as_of=D, score=50 if i < 22 else 85, band="neutral")
    client = client_for(cs_admin)
    data = {
        "name": "Drop",
        "active": "on",
        "trigger": '{"type": "score_dropped", "points": 20}',
        "condition": "",
        "cooldown_days": 0,
        "creates_task": "on",
        "task_title": "Call {account.name}",
        "task_body": "",
        "task_assignee": "owner",
        "task_due_in_days": 3,
        "task_priority": "normal",
        "notify": "",
        "webhook_url": "",
    }
    body = client.post(reverse("admin:plays_play_preview"), data).content.decode()
    assert "This play would fire for 22 accounts" in body and body.count("<tr>") == 21  # header + first 20
    assert "score fell 40 points in 7 days (90 → 50)" in body
    bad = client.post(
        reverse("admin:plays_play_preview"), {**data, "trigger": '{"type": "segment_entered", "segment": "Nope"}'}
    )
    assert "trigger.segment: unknown segment &#x27;Nope&#x27;" in bad.content.decode()
    # Saving goes through the same validation, and is audited.
    saved = client.post(reverse("admin:plays_play_add"), data)
    assert saved.status_code == 302
    assert AuditEntry.objects.get(kind="plays").after["trigger"] == {"type": "score_dropped", "points": 20}


def test_play_admin_change_form_and_delivery_admin_open(client_for, cs_admin):
    play = play_apply(
        "Drop",
        {"type": "score_dropped", "points": 10},
        webhook={"url": "http://127.0.0.1:9/h", "secret": "s3cret-s3cret"},
    )
    client = client_for(cs_admin)
    body = client.get(reverse("admin:plays_play_change", args=[play.pk])).content.decode()
    assert "Preview: who would this play fire for today?" in body and "s3cret-s3cret" not in body
    for name in ("delivery", "deliveryattempt", "playfiring", "task", "timelinenote"):
        assert client.get(reverse(f"admin:plays_{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:plays_play_history", args=[play.pk])).status_code == 200
