"""Issue #14 point 8 in the rule admins: rules in plain words on the admin list and change pages,
"Recompute now" offered after a rule, scorecard or journey is saved (results change only then),
and a failed save keeps what the admin typed, the errors placed on it."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from health.models import Scorecard
from pipeline.models import RecomputeRun
from plays.models import Play
from segments.models import Segment
from tests.configuration.test_admin import education, journey, journey_form, scorecard_form  # noqa: F401 (fixtures)
from tests.factories import SegmentFactory, UserFactory, VerticalFactory

pytestmark = pytest.mark.django_db

EDU = {"field": "vertical", "op": "eq", "value": "Education"}
RENEWAL = {"field": "days_to_renewal", "op": "between", "value": [0, 90]}
AT_RISK = {"field": "health_band", "op": "eq", "value": "at_risk"}
WORDS = "Health band is At risk and days to renewal is 0–90"


def segment_data(rule, **fields):
    data = {"name": "Renewing at risk", "description": "", "touch_model": "high", "priority": "5", "active": "on"}
    return data | fields | {"rule": rule if isinstance(rule, str) else json.dumps(rule)}


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


# --- a. rules in plain words --------------------------------------------------------------------


def test_the_segment_admin_list_and_change_form_word_the_rule(client_for, cs_admin):
    segment = SegmentFactory(name="Renewing at risk", rule={"all": [AT_RISK, RENEWAL]})
    client = client_for(cs_admin)
    listing = client.get(reverse("admin:segments_segment_changelist")).content.decode()
    assert "Rule in plain words" in listing and WORDS in listing
    assert "days_to_renewal" not in listing and "at_risk" not in listing
    change = client.get(reverse("admin:segments_segment_change", args=[segment.pk])).content.decode()
    assert "Saved rule in plain words" in change and WORDS in change
    assert "Saved rule in plain words" not in client.get(reverse("admin:segments_segment_add")).content.decode()


def test_the_segment_preview_words_the_rule_being_edited(client_for, cs_admin):
    page = client_for(cs_admin).post(
        reverse("admin:segments_segment_preview"), {"rule": json.dumps({"all": [AT_RISK, RENEWAL]})}
    )
    assert f"Matches <em>{WORDS}</em>" in page.content.decode()


def test_the_play_admin_words_its_condition(client_for, cs_admin):
    play = Play.objects.create(
        name="Call before renewal",
        trigger={"type": "band_became", "band": "at_risk"},
        condition={"all": [EDU, RENEWAL]},
    )
    client = client_for(cs_admin)
    words = "Vertical is Education and days to renewal is 0–90"
    assert words in client.get(reverse("admin:plays_play_changelist")).content.decode()
    assert words in client.get(reverse("admin:plays_play_change", args=[play.pk])).content.decode()


# --- b. "Recompute now" offered after a save ------------------------------------------------------


def test_saving_a_segment_offers_a_recompute_and_says_memberships_change_only_then(client_for, cs_admin):
    client = client_for(cs_admin)
    response = client.post(
        reverse("admin:segments_segment_add"), segment_data({"all": [AT_RISK, RENEWAL]}), follow=True
    )
    page = response.content.decode()
    assert "Segment memberships and touch models change only after a recompute" in page
    start = reverse("admin:pipeline_recomputerun_start")
    assert f'action="{start}"' in page and 'id="recompute-after-save"' in page
    assert f"Recompute now ({timezone.localdate():%Y-%m-%d})" in page
    assert 'name="csrfmiddlewaretoken"' in page.split('id="recompute-after-save"')[0].rsplit("<form", 1)[1]
    assert not RecomputeRun.objects.exists()  # offered, not started


def test_the_offer_queues_the_same_run_as_the_runs_recompute_now(
    client_for, cs_admin, django_capture_on_commit_callbacks
):
    client = client_for(cs_admin)
    client.post(reverse("admin:segments_segment_add"), segment_data(AT_RISK))
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("admin:pipeline_recomputerun_start"))
    run = RecomputeRun.objects.get()
    assert (run.trigger, run.status, len(callbacks)) == ("admin", "queued", 1)
    assert response["Location"] == reverse("admin:pipeline_recomputerun_progress", args=[run.pk])


def test_saving_a_scorecard_or_a_journey_offers_it_too(client_for, cs_admin, education, journey):  # noqa: F811
    client = client_for(cs_admin)
    scorecard, _ = education
    data = scorecard_form(scorecard, healthy_at=75)
    page = client.post(reverse("admin:health_scorecard_change", args=[scorecard.pk]), data, follow=True)
    assert "Health scores and bands change only after a recompute" in page.content.decode()
    data = journey_form(
        journey, [{"name": "Booked", "features": ["scheduling"]}, {"name": "Reminded", "features": ["video"]}]
    )
    page = client.post(reverse("admin:journeys_journey_change", args=[journey.pk]), data, follow=True)
    assert (
        "Journey stages (and scores that use journey progress) change only after a recompute" in page.content.decode()
    )


def test_a_save_that_changes_nothing_offers_nothing(client_for, cs_admin, education):  # noqa: F811
    scorecard, _ = education
    page = client_for(cs_admin).post(
        reverse("admin:health_scorecard_change", args=[scorecard.pk]), scorecard_form(scorecard), follow=True
    )
    assert page.status_code == 200 and "change only after a recompute" not in page.content.decode()


def test_staff_who_may_edit_segments_but_not_recompute_are_told_to_ask(client_for):
    editor = UserFactory(username="ed", is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_segment", "change_segment", "view_segment"])
    )
    response = client_for(editor).post(reverse("admin:segments_segment_add"), segment_data(AT_RISK), follow=True)
    page = response.content.decode()
    assert "change only after a recompute: ask a CS Admin to run one" in page
    assert "recompute-after-save" not in page
    assert client_for(editor).post(reverse("admin:pipeline_recomputerun_start")).status_code in (302, 403)
    assert not RecomputeRun.objects.exists()


# --- e. a failed save keeps what was typed ----------------------------------------------------------


def test_a_refused_segment_rule_comes_back_as_typed_with_its_error(client_for, cs_admin):
    VerticalFactory(name="Education")
    rule = {"all": [EDU, {"field": "arr", "op": "gt", "value": "100k"}]}
    data = segment_data(rule, name="Big schools", description="ARR over 100k", priority="7")
    response = client_for(cs_admin).post(reverse("admin:segments_segment_add"), data)
    assert response.status_code == 200 and not Segment.objects.exists()
    form = response.context["adminform"].form
    assert json.loads(form["rule"].value()) == rule
    assert (form["name"].value(), form["description"].value(), form["priority"].value()) == (
        "Big schools",
        "ARR over 100k",
        "7",
    )
    assert any("rule.all[1].value" in e for e in form.errors["rule"])


def test_unparsable_rule_json_comes_back_character_for_character(client_for, cs_admin):
    text = '{"all": [{"field": "arr", "op": "gt", "value": 5},]}'
    response = client_for(cs_admin).post(reverse("admin:segments_segment_add"), segment_data(text))
    form = response.context["adminform"].form
    assert form["rule"].value() == text and "invalid JSON at line 1" in " ".join(form.errors["rule"])


def test_a_refused_scorecard_keeps_every_typed_value_and_places_the_errors(client_for, cs_admin, education):  # noqa: F811
    scorecard, _ = education
    data = scorecard_form(
        scorecard,
        name="Schools renamed",
        healthy_at=30,
        at_risk_below=60,
        measures=[{"red": 5, "green": 5}, {"weight": 3}],
    )
    response = client_for(cs_admin).post(reverse("admin:health_scorecard_change", args=[scorecard.pk]), data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert (form["name"].value(), str(form["healthy_at"].value()), str(form["at_risk_below"].value())) == (
        "Schools renamed",
        "30",
        "60",
    )
    rows = response.context["inline_admin_formsets"][0].formset.forms
    assert (str(rows[0]["red"].value()), str(rows[0]["green"].value()), str(rows[1]["weight"].value())) == (
        "5",
        "5",
        "3",
    )
    page = response.content.decode()
    assert 'value="Schools renamed"' in page and 'name="measures-1-weight" value="3"' in page
    assert Scorecard.objects.get().name == "Education"
    assert form.errors["at_risk_below"] == ["must be at most healthy_at"]  # on the field it is about
    assert rows[0].errors == {"green": ["must differ from red"]} and not rows[1].errors
