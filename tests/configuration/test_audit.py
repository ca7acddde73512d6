"""The audit trail: every change to a scorecard, segment or journey is recorded wherever it is made
(admin, API, apply_config), shown as a readable diff in the object's history, and revertible."""

import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from configuration.audit import diff_lines
from configuration.models import AuditEntry
from configuration.services import config_apply, config_export
from health.models import Scorecard
from journeys.models import Journey
from segments.models import Segment
from tests.configuration.test_admin import scorecard_form
from tests.factories import FeatureFactory, UseCaseFactory, VerticalFactory

pytestmark = pytest.mark.django_db

CARD = {
    "name": "Education",
    "vertical": "Education",
    "healthy_at": 70,
    "at_risk_below": 40,
    "measures": [
        {"metric": "active_days_90d", "weight": 2, "red": 1, "green": 5},
        {"metric": "days_since_last_activity", "weight": 1, "red": 120, "green": 30},
    ],
}
SEGMENT = {
    "name": "Education at risk",
    "touch_model": "high",
    "priority": 10,
    "rule": {
        "all": [
            {"field": "vertical", "op": "eq", "value": "Education"},
            {"field": "health_band", "op": "eq", "value": "at_risk"},
        ]
    },
}


@pytest.fixture
def rules():
    VerticalFactory(name="Education")
    config_apply(document={"version": 1, "scorecards": [CARD], "segments": [SEGMENT]})
    return Scorecard.objects.get(name="Education"), Segment.objects.get(name="Education at risk")


def entries(obj, kind):
    return list(AuditEntry.objects.filter(kind=kind, object_id=obj.pk).order_by("created_at", "id"))


def test_apply_config_records_creations_and_changes_only(rules):
    sc, seg = rules
    [created] = entries(sc, "scorecards")
    assert (created.action, created.source, created.before, created.actor) == ("created", "apply_config", None, None)
    assert created.after["measures"][0] == {"metric": "active_days_90d", "weight": 2, "red": 1, "green": 5}
    config_apply(document={"version": 1, "scorecards": [CARD], "segments": [SEGMENT]})  # unchanged: nothing recorded
    assert AuditEntry.objects.count() == 2
    config_apply(document={"version": 1, "scorecards": [CARD], "segments": [{**SEGMENT, "priority": 20}]}, dry_run=True)
    assert AuditEntry.objects.count() == 2  # a dry run records nothing either
    config_apply(document={"version": 1, "segments": [{**SEGMENT, "priority": 20}]})
    updated = entries(seg, "segments")[-1]
    assert (updated.action, updated.before["priority"], updated.after["priority"]) == ("updated", 10, 20)


def test_the_command_and_prune_record_too(rules, tmp_path):
    sc, seg = rules
    path = tmp_path / "rules.json"
    path.write_text(
        json.dumps({"version": 1, "verticals": [{"name": "Education"}], "scorecards": [{**CARD, "healthy_at": 60}]})
    )
    call_command("apply_config", str(path), "--prune", stdout=io.StringIO())
    assert entries(sc, "scorecards")[-1].after["healthy_at"] == 60
    deleted = entries(seg, "segments")[-1]
    assert (deleted.action, deleted.after, deleted.before["name"]) == ("deleted", None, "Education at risk")


def test_api_writes_record_the_user(rules, client_for, cs_admin):
    sc, seg = rules
    client = client_for(cs_admin)
    response = client.patch(f"/api/v1/scorecards/{sc.pk}/", {"healthy_at": 75}, content_type="application/json")
    assert response.status_code == 200
    entry = entries(sc, "scorecards")[-1]
    assert (entry.source, entry.actor, entry.after["healthy_at"]) == ("api", cs_admin, 75)
    assert client.delete(f"/api/v1/segments/{seg.slug}/").status_code == 204
    entry = entries(seg, "segments")[-1]
    assert (entry.action, entry.source, entry.actor) == ("deleted", "api", cs_admin)


def test_admin_saves_record_the_scorecard_with_its_measures(rules, client_for, cs_admin):
    sc, _ = rules
    url = reverse("admin:health_scorecard_change", args=[sc.pk])
    assert client_for(cs_admin).post(url, scorecard_form(sc, measures=[{"green": 7}])).status_code == 302
    entry = entries(sc, "scorecards")[-1]
    assert (entry.source, entry.actor, entry.action) == ("admin", cs_admin, "updated")
    assert entry.before["measures"][0]["green"] == 5 and entry.after["measures"][0]["green"] == 7
    assert diff_lines("scorecards", entry.before, entry.after) == [("measure Active days (90d): green", "5", "7")]


def test_admin_deletes_are_recorded(rules, client_for, cs_admin):
    sc, _ = rules
    url = reverse("admin:health_scorecard_delete", args=[sc.pk])
    assert client_for(cs_admin).post(url, {"post": "yes"}).status_code == 302
    entry = AuditEntry.objects.filter(kind="scorecards", object_id=sc.pk).first()
    assert (entry.action, entry.after, entry.before["name"]) == ("deleted", None, "Education")


def test_history_shows_a_readable_diff(rules, client_for, cs_admin):
    sc, seg = rules
    config_apply(
        document={"version": 1, "scorecards": [{**CARD, "healthy_at": 80, "measures": CARD["measures"][:1]}]},
        actor=cs_admin,
    )
    page = client_for(cs_admin).get(reverse("admin:health_scorecard_history", args=[sc.pk])).content.decode()
    assert "Updated by admin" in page and "<span>Created</span>" in page
    assert '<td>healthy at</td><td class="old">70</td><td class="new">80</td>' in page
    assert "measure Days since last activity" in page and "weight 1, red 120, green 30" in page
    assert page.count("Revert this change") == 1  # the creation has nothing to go back to
    config_apply(
        document={"version": 1, "segments": [{**SEGMENT, "rule": {"field": "tier", "op": "eq", "value": "Tier 1"}}]}
    )
    page = client_for(cs_admin).get(reverse("admin:segments_segment_history", args=[seg.pk])).content.decode()
    assert "Tier is Tier 1" in page and "Vertical is Education and health band is At risk" in page


def test_revert_restores_a_scorecard_with_its_measures_and_is_recorded(rules, client_for, cs_admin):
    sc, _ = rules
    original = config_export()["scorecards"]
    client = client_for(cs_admin)
    edit = scorecard_form(sc, name="Schools", healthy_at=80, measures=[{"green": 9}, {"DELETE": "on"}])
    assert client.post(reverse("admin:health_scorecard_change", args=[sc.pk]), edit).status_code == 302
    assert config_export()["scorecards"][0]["measures"] == [
        {"metric": "active_days_90d", "weight": 2, "red": 1, "green": 9}
    ]
    change = entries(sc, "scorecards")[-1]
    response = client.post(
        reverse("admin:health_scorecard_revert", args=[sc.pk, change.pk]),
        {"reason": "Rolled out too early"},
        follow=True,
    )
    assert "Reverted &#x27;Education&#x27;" in response.content.decode()
    assert config_export()["scorecards"] == original  # name, thresholds and both measures back
    assert Scorecard.objects.get().pk == sc.pk
    revert = entries(sc, "scorecards")[-1]
    assert (revert.source, revert.actor, revert.reverted_from) == ("revert", cs_admin, change)
    assert revert.before["name"] == "Schools" and revert.after["name"] == "Education"


def test_revert_a_segment_rule(rules, client_for, cs_admin):
    _, seg = rules
    config_apply(document={"version": 1, "segments": [{**SEGMENT, "rule": {"field": "arr", "op": "gt", "value": 5}}]})
    change = entries(seg, "segments")[-1]
    client_for(cs_admin).post(
        reverse("admin:segments_segment_revert", args=[seg.pk, change.pk]), {"reason": "Rolled out too early"}
    )
    seg.refresh_from_db()
    assert seg.rule == SEGMENT["rule"]
    assert entries(seg, "segments")[-1].source == "revert"


def test_revert_that_would_be_invalid_changes_nothing_and_says_why(rules, client_for, cs_admin):
    sc, _ = rules
    config_apply(document={"version": 1, "scorecards": [{**CARD, "active": False}]})
    deactivation = entries(sc, "scorecards")[-1]
    config_apply(document={"version": 1, "scorecards": [{**CARD, "name": "Education 2"}]})  # takes the scope
    before, count = config_export(), AuditEntry.objects.count()
    url = reverse("admin:health_scorecard_revert", args=[sc.pk, deactivation.pk])
    page = client_for(cs_admin).post(url, {"reason": "Rolled out too early"}, follow=True).content.decode()
    assert "Not reverted: scorecards[0]: another active scorecard has the same scope" in page
    assert config_export() == before and AuditEntry.objects.count() == count


def test_revert_is_confirmed_first_and_for_cs_admins_only(rules, client_for, cs_admin, csm, leader):
    sc, _ = rules
    config_apply(document={"version": 1, "scorecards": [{**CARD, "healthy_at": 90}]})
    change = entries(sc, "scorecards")[-1]
    url = reverse("admin:health_scorecard_revert", args=[sc.pk, change.pk])
    assert client_for(cs_admin).put(url).status_code == 405
    for user in (None, csm, leader):
        response = client_for(user).post(url, {"reason": "Rolled out too early"})
        assert response.status_code == 302 and "login/?next=" in response["Location"]
    created = entries(sc, "scorecards")[0]
    confirm = client_for(cs_admin).get(reverse("admin:health_scorecard_revert", args=[sc.pk, created.pk]))
    assert "was created by this change" in confirm.content.decode() and 'name="reason"' not in confirm.content.decode()
    page = client_for(cs_admin).post(
        reverse("admin:health_scorecard_revert", args=[sc.pk, created.pk]),
        {"reason": "Rolled out too early"},
        follow=True,
    )
    assert "was created by this change" in page.content.decode()
    assert Scorecard.objects.get().healthy_at == 90


def test_diff_lines_of_stages_and_creations():
    before = {
        "vertical": "Education",
        "use_case": "PTA",
        "stages": [
            {"name": "Booked", "features": ["scheduling"], "min_events_90d": 1},
            {"name": "Reminded", "features": ["reminders"], "min_events_90d": 5},
        ],
    }
    after = {**before, "stages": [before["stages"][1] | {"min_events_90d": 3}, before["stages"][0]]}
    assert diff_lines("journeys", before, after) == [
        ("stage Reminded: min events 90d", "5", "3"),
        ("stage Reminded: position", "2", "1"),
        ("stage Booked: position", "1", "2"),
    ]
    created = diff_lines(
        "segments", None, {"name": "X", "active": True, "rule": {"field": "arr", "op": "gt", "value": 1}}
    )
    assert created == [("name", "—", "X"), ("active", "—", "yes"), ("rule", "—", "ARR is above $1")]


def test_revert_a_journey_puts_its_stages_back(client_for, cs_admin):
    VerticalFactory(name="Education")
    UseCaseFactory(name="PTA meetings")
    FeatureFactory(key="scheduling")
    FeatureFactory(key="reminders")
    journey = {
        "vertical": "Education",
        "use_case": "PTA meetings",
        "stages": [
            {"name": "Booked", "features": ["scheduling"], "min_events_90d": 1},
            {"name": "Reminded", "features": ["reminders"], "min_events_90d": 5},
        ],
    }
    config_apply(document={"version": 1, "journeys": [journey]})
    config_apply(document={"version": 1, "journeys": [{**journey, "stages": journey["stages"][:1]}]}, actor=cs_admin)
    saved = Journey.objects.get()
    change = entries(saved, "journeys")[-1]
    assert diff_lines("journeys", change.before, change.after) == [
        ("stage Reminded", "features reminders, at least 5 events in 90 days", "—")
    ]
    client_for(cs_admin).post(
        reverse("admin:journeys_journey_revert", args=[saved.pk, change.pk]), {"reason": "Rolled out too early"}
    )
    assert config_export()["journeys"] == [journey]
    assert entries(saved, "journeys")[-1].source == "revert"


def test_history_and_change_list_query_counts_do_not_grow(rules, client_for, cs_admin, django_assert_num_queries):
    sc, _ = rules
    client = client_for(cs_admin)
    history = reverse("admin:health_scorecard_history", args=[sc.pk])
    changes = reverse("admin:configuration_auditentry_changelist")

    def edit(n):
        for i in range(n):
            config_apply(document={"version": 1, "scorecards": [{**CARD, "healthy_at": 50 + i}]}, actor=cs_admin)

    edit(2)
    client.get(history)  # warm the session
    client.get(changes)
    with django_assert_num_queries(7) as few_history:
        client.get(history)
    with django_assert_num_queries(8):
        client.get(changes)
    edit(6)
    with django_assert_num_queries(len(few_history.captured_queries)):
        page = client.get(history).content.decode()
    assert page.count("Revert this change") == 8
    with django_assert_num_queries(8):
        client.get(changes)


def test_a_deleted_scorecard_is_restored_from_the_change_history(rules, client_for, cs_admin, csm):
    sc, _ = rules
    original = config_export()["scorecards"]
    client = client_for(cs_admin)
    client.post(reverse("admin:health_scorecard_delete", args=[sc.pk]), {"post": "yes"})
    deletion = AuditEntry.objects.get(action="deleted")
    page = client.get(reverse("admin:configuration_auditentry_change", args=[deletion.pk])).content.decode()
    assert "Restore" in page and "weight 2, red 1, green 5" in page
    url = reverse("admin:configuration_auditentry_revert", args=[deletion.pk])
    assert (
        client_for(csm).post(url, {"reason": "Rolled out too early"}).status_code == 302
        and not Scorecard.objects.exists()
    )
    response = client.post(url, {"reason": "Rolled out too early"})
    restored = Scorecard.objects.get()
    assert response["Location"] == reverse("admin:health_scorecard_history", args=[restored.pk])
    assert config_export()["scorecards"] == original
    assert AuditEntry.objects.filter(object_id=restored.pk, source="revert", action="created").exists()


def test_a_revert_asks_for_confirmation_showing_what_will_change(rules, client_for, cs_admin):
    sc, _ = rules
    config_apply(document={"version": 1, "scorecards": [{**CARD, "healthy_at": 85}]}, actor=cs_admin)
    change = entries(sc, "scorecards")[-1]
    client = client_for(cs_admin)
    history = client.get(reverse("admin:health_scorecard_history", args=[sc.pk])).content.decode()
    url = reverse("admin:health_scorecard_revert", args=[sc.pk, change.pk])
    assert f'href="{url}"' in history  # the history links to the confirmation, it does not revert
    page = client.get(url).content.decode()
    assert "Revert scorecard &#x27;Education&#x27;?" in page
    assert '<td>healthy at</td><td class="old">85</td><td class="new">70</td>' in page
    assert 'name="reason"' in page and "Health scores and bands change only after the next recompute" in page
    assert Scorecard.objects.get().healthy_at == 85  # looking changed nothing
    assert len(entries(sc, "scorecards")) == 2


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_a_revert_without_a_reason_is_refused_on_the_confirmation(rules, client_for, cs_admin, reason):
    sc, _ = rules
    config_apply(document={"version": 1, "scorecards": [{**CARD, "healthy_at": 85}]})
    change = entries(sc, "scorecards")[-1]
    response = client_for(cs_admin).post(
        reverse("admin:health_scorecard_revert", args=[sc.pk, change.pk]), {"reason": reason}
    )
    assert response.status_code == 200
    assert "reason: say why you revert this change" in response.content.decode()
    assert Scorecard.objects.get().healthy_at == 85 and len(entries(sc, "scorecards")) == 2


def test_the_reason_is_recorded_and_shown_in_the_history(rules, client_for, cs_admin):
    _, seg = rules
    config_apply(document={"version": 1, "segments": [{**SEGMENT, "rule": {"field": "arr", "op": "gt", "value": 5}}]})
    change = entries(seg, "segments")[-1]
    client = client_for(cs_admin)
    url = reverse("admin:segments_segment_revert", args=[seg.pk, change.pk])
    confirm = client.get(url).content.decode()
    assert "ARR is above" in confirm and "Vertical is Education and health band is At risk" in confirm
    response = client.post(url, {"reason": "  CSMs lost  their\nat-risk list "}, follow=True)
    revert = entries(seg, "segments")[-1]
    assert (revert.source, revert.reason) == ("revert", "CSMs lost their at-risk list")
    page = response.content.decode()
    assert "Reason: CSMs lost their at-risk list" in page
    assert "Segment memberships and touch models change only after a recompute" in page
    entry_page = client.get(reverse("admin:configuration_auditentry_change", args=[revert.pk])).content.decode()
    assert "Reason: CSMs lost their at-risk list" in entry_page
