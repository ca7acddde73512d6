"""The plays API: task filters and fields (SPEC §9), PATCH with who and when, manual tasks, notes,
the firing log and plays written through the config document's validation (secrets masked)."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from plays.models import PlayFiring, Task, TaskEvent
from tests.factories import AccountFactory, TaskFactory, UserFactory, play_apply

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


@pytest.fixture
def api(csm):
    client = APIClient()
    client.force_authenticate(csm)
    return client


def test_task_list_filters_and_fields(api, csm):
    csm.email = "casey@example.com"
    csm.save()
    play = play_apply("Drop", {"type": "score_dropped", "points": 10})
    a, b = AccountFactory(external_id="A1", owner=csm), AccountFactory(external_id="B2")
    TaskFactory(account=a, play=play, assignee=csm, title="Call A", why="score fell", due_date=D)
    TaskFactory(account=b, title="Manual B", status="done")
    rows = api.get(
        "/api/v1/tasks/", {"account": "A1", "status": "open", "play": "drop", "assignee": "CASEY@example.com"}
    ).json()["results"]
    assert len(rows) == 1
    row = rows[0]
    assert {k: row[k] for k in ("account", "play", "title", "status", "assignee", "due_date", "priority", "why")} == {
        "account": "A1",
        "play": "Drop",
        "title": "Call A",
        "status": "open",
        "assignee": "casey@example.com",
        "due_date": "2026-06-30",
        "priority": "normal",
        "why": "score fell",
    }
    assert "created_at" in row
    assert [r["title"] for r in api.get("/api/v1/tasks/", {"status": "done"}).json()["results"]] == ["Manual B"]
    assert api.get("/api/v1/tasks/", {"status": "later"}).status_code == 400


def test_patch_status_assignee_due_date(api, csm):
    robin = UserFactory(username="robin", email="robin@example.com", roles=["CSM"])
    task = TaskFactory(account=AccountFactory(owner=csm), assignee=csm)
    response = api.patch(
        f"/api/v1/tasks/{task.pk}/",
        {"status": "done", "assignee": "robin@example.com", "due_date": "2026-07-09"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["assignee"], body["due_date"], body["closed_by"]) == (
        "done",
        "robin@example.com",
        "2026-07-09",
        csm.email,
    )
    assert set(TaskEvent.objects.values_list("kind", flat=True)) == {"reassigned", "due", "done"}
    assert Task.objects.get().assignee == robin
    bad = api.patch(f"/api/v1/tasks/{task.pk}/", {"assignee": "nobody@example.com"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "assignee"
    assert api.put(f"/api/v1/tasks/{task.pk}/", {}, format="json").status_code == 405


def test_create_manual_task_and_notes(api, csm):
    AccountFactory(external_id="A1")
    created = api.post(
        "/api/v1/tasks/",
        {"account": "A1", "title": "Send deck", "priority": "high", "due_date": "2026-07-01"},
        format="json",
    )
    assert created.status_code == 201 and created.json()["play"] is None and created.json()["priority"] == "high"
    assert (
        api.post("/api/v1/tasks/", {"account": "NOPE", "title": "x"}, format="json").json()["errors"][0]["path"]
        == "account"
    )
    note = api.post(
        "/api/v1/notes/", {"account": "A1", "kind": "meeting", "date": "2026-06-29", "text": "QBR"}, format="json"
    )
    assert note.status_code == 201 and note.json()["author"] == csm.email
    assert api.post("/api/v1/notes/", {"account": "A1", "kind": "fax", "text": "x"}, format="json").status_code == 400
    assert [n["text"] for n in api.get("/api/v1/notes/", {"account": "A1"}).json()["results"]] == ["QBR"]


def test_firing_log(api):
    play = play_apply("Drop", {"type": "score_dropped", "points": 10})
    PlayFiring.objects.create(
        play=play, account=AccountFactory(external_id="A1"), day=D, why="score fell", facts={"score": 3}
    )
    (row,) = api.get("/api/v1/firings/", {"play": "Drop", "day": "2026-06-30"}).json()["results"]
    assert (row["play"], row["account"], row["why"], row["facts"]) == ("Drop", "A1", "score fell", {"score": 3})


def test_plays_are_written_by_admins_through_document_validation(cs_admin):
    client = APIClient()
    client.force_authenticate(cs_admin)
    bad = client.post(
        "/api/v1/plays/",
        {"name": "X", "trigger": {"type": "segment_entered", "segment": "Nope"}, "task": {"title": "t"}},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {"path": "trigger.segment", "message": "unknown segment 'Nope' (define it under segments or create it first)"}
    ]
    ok = client.post(
        "/api/v1/plays/",
        {
            "name": "Hook",
            "trigger": {"type": "band_became", "band": "AT_RISK"},
            "webhook": {"url": "https://hooks.example.com/cs", "secret": "very-secret-value"},
        },
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    body = ok.json()
    assert body["trigger"] == {"type": "band_became", "band": "at_risk"} and body["webhook"]["secret"].startswith(
        "********"
    )
    assert "very-secret-value" not in str(client.get("/api/v1/plays/").json())
    patched = client.patch(f"/api/v1/plays/{body['id']}/", {"cooldown_days": 14}, format="json")
    assert patched.status_code == 200 and patched.json()["cooldown_days"] == 14


def test_a_note_without_a_kind_is_a_note(api):
    AccountFactory(external_id="A1")
    response = api.post("/api/v1/notes/", {"account": "A1", "text": "0"}, format="multipart")
    assert response.status_code == 201 and response.json()["kind"] == "note"
