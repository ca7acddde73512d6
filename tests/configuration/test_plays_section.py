"""The plays section of the config document: errors with paths, round trip identity, secrets never
exported in clear (a placeholder keeps them), audited and revertible like segments."""

import pytest

from configuration.models import AuditEntry
from configuration.services import ConfigInvalid, audit_revert, config_apply, config_export
from plays.models import Play
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE = {
    "version": 1,
    "segments": [{"name": "Education at risk", "rule": {"field": "health_band", "op": "eq", "value": "at_risk"}}],
}
PLAY = {
    "name": "Education at risk before renewal",
    "active": True,
    "trigger": {"type": "segment_entered", "segment": "Education at risk"},
    "condition": {"field": "days_to_renewal", "op": "between", "value": [0, 120]},
    "cooldown_days": 30,
    "task": {
        "title": "Call {account.name}: {trigger.reason}",
        "body": "",
        "assignee": "owner",
        "due_in_days": 3,
        "priority": "high",
    },
    "notify": ["email", "json://hooks.example.com/chat?token=abc"],
    "webhook": {"url": "https://hooks.example.com/cs", "secret": "the-real-secret"},
}


def errors(doc):
    with pytest.raises(ConfigInvalid) as exc:
        config_apply(document=doc)
    return exc.value.errors


def test_errors_name_their_paths():
    bad = [
        {"name": "A", "trigger": {"type": "segment_entered", "segment": "X"}, "task": {"title": "t"}},
        {
            "name": "B",
            "trigger": {"type": "teleport"},
            "task": {"title": "{account.nmae}", "assignee": "boss", "priority": "meh"},
        },
        {
            "name": "C",
            "trigger": {"type": "band_became", "band": "purple", "extra": 1},
            "condition": {"field": "logins", "op": "eq", "value": 1},
            "notify": ["carrier-pigeon"],
            "webhook": {"url": "ftp://x", "secret": "short"},
        },
        {"name": "D", "trigger": {"type": "score_dropped", "points": 0}},
        {
            "name": "E",
            "trigger": {"type": "renewal_within"},
            "task": {"title": "t", "assignee": "user:ghost@example.com"},
        },
        {"name": "F", "trigger": {"type": "driver_unused"}, "colour": "red"},
    ]
    found = errors({"version": 1, "plays": bad})
    expected = [
        "plays[0].trigger.segment: unknown segment 'X' (define it under segments or create it first)",
        "plays[1].trigger.type: unknown trigger type 'teleport'",
        "plays[1].task.title: unknown placeholder {account.nmae}",
        "plays[1].task.assignee: 'boss' is not an assignee (owner, user:<email> or group:<group name>)",
        "plays[1].task.priority: 'meh' is not one of low, normal, high, urgent",
        "plays[2].trigger.extra: unknown key for trigger 'band_became'",
        "plays[2].trigger.band: 'purple' is not a band",
        "plays[2].condition: unknown field 'logins'",
        "plays[2].notify[0]: 'carrier-pigeon' is neither 'email' nor an Apprise URL",
        "plays[2].webhook.url: expected an http(s) URL",
        "plays[2].webhook.secret: at least 8 characters",
        "plays[3].trigger.points: must be between 1 and 100, got 0",
        "plays[3]: a play needs an action",
        "plays[5].colour: unknown key",
        "plays[4].trigger.days: required for trigger 'renewal_within'",
        "plays[4].task.assignee: no active team member has the email 'ghost@example.com'",
    ]
    for line in expected:
        assert any(f.startswith(line) for f in found), (line, found)
    assert Play.objects.count() == 0  # nothing written


def test_round_trip_is_identity_and_secrets_are_masked():
    config_apply(document={**BASE, "plays": [PLAY]})
    exported = config_export()
    (play,) = exported["plays"]
    text = str(exported)
    assert "the-real-secret" not in text and "token=abc" not in text
    assert play["webhook"]["secret"].startswith("********") and play["notify"][1].startswith("json://********")
    assert {k: v for k, v in play.items() if k not in ("notify", "webhook")} == {
        k: v for k, v in PLAY.items() if k not in ("notify", "webhook")
    }
    report = config_apply(document=exported)
    assert not report.changed, report.lines()
    stored = Play.objects.get()
    assert stored.webhook_secret == "the-real-secret" and stored.notify == PLAY["notify"]
    assert config_export() == exported


def test_a_new_secret_is_written_and_audited_without_showing_it():
    admin = UserFactory(username="ada")
    config_apply(document={**BASE, "plays": [PLAY]}, actor=admin)
    rotated = {**PLAY, "webhook": {"url": PLAY["webhook"]["url"], "secret": "a-brand-new-secret"}}
    report = config_apply(document={"version": 1, "plays": [rotated]}, actor=admin)
    assert report.updated == {"plays": [PLAY["name"]]}
    assert Play.objects.get().webhook_secret == "a-brand-new-secret"
    entries = AuditEntry.objects.filter(kind="plays").order_by("id")
    assert [e.action for e in entries] == ["created", "updated"]
    assert "secret" not in str([e.before for e in entries] + [e.after for e in entries]).replace(
        "'secret': '********", ""
    )


def test_a_placeholder_for_a_play_without_a_stored_secret_is_an_error():
    new = {
        **PLAY,
        "name": "New",
        "webhook": {"url": "https://x.example.com/", "secret": "********"},
        "notify": ["slack://********"],
    }
    found = errors({**BASE, "plays": [new]})
    assert any(e.startswith("plays[0].webhook.secret: the placeholder keeps a stored secret") for e in found)
    assert any(e.startswith("plays[0].notify[0]: 'slack://********' stands for a stored URL") for e in found)


def test_revert_through_the_audit_log():
    admin = UserFactory(username="ada")
    config_apply(document={**BASE, "plays": [PLAY]}, actor=admin)
    config_apply(document={"version": 1, "plays": [{**PLAY, "cooldown_days": 5, "active": False}]}, actor=admin)
    change = AuditEntry.objects.filter(kind="plays", action="updated").get()
    audit_revert(entry=change, actor=admin)
    play = Play.objects.get()
    assert (play.cooldown_days, play.active, play.webhook_secret) == (30, True, "the-real-secret")


def test_prune_deletes_plays_left_out():
    config_apply(document={**BASE, "plays": [PLAY]})
    doc = config_export()
    doc["plays"] = []
    config_apply(document=doc, prune=True)
    assert Play.objects.count() == 0
