"""The segment admin (issue #4): the rule builder's form, its preview, who may use them, and that an
invalid rule is never saved — through the form, its raw JSON, or apply_config."""

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from accounts.models import Tier
from segments.models import Segment
from segments.selectors import rule_builder_options, rule_preview
from tests.factories import (
    AccountFactory,
    HealthScoreFactory,
    JourneyFactory,
    SegmentFactory,
    SegmentMembershipFactory,
    StageFactory,
    UseCaseFactory,
    UserFactory,
    VerticalFactory,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)
ADD = "/admin/segments/segment/add/"
PREVIEW = "/admin/segments/segment/preview/"

EDU = {"field": "vertical", "op": "eq", "value": "Education"}
AT_RISK = {"field": "health_band", "op": "eq", "value": "at_risk"}
NESTED = {"all": [EDU, {"any": [AT_RISK, {"field": "arr", "op": "gt", "value": 30000}]}]}


def change_url(segment):
    return f"/admin/segments/segment/{segment.pk}/change/"


@pytest.fixture
def school():
    """Education and Tech Sales accounts with results on D (and an older day that must not count)."""
    edu, tech = VerticalFactory(name="Education"), VerticalFactory(name="Tech Sales")
    tier3 = Tier.objects.create(name="Tier 3", min_arr=0)
    owner = UserFactory(username="jo", email="jo@example.com")
    accounts = {
        "oak": AccountFactory(name="Oak", vertical=edu, arr=50000, owner=owner),  # healthy, ARR > 30k
        "elm": AccountFactory(name="Elm", vertical=edu, arr=9000),  # at risk
        "ash": AccountFactory(name="Ash", vertical=edu, arr=8000),  # neutral, small: no match
        "fir": AccountFactory(name="Fir", vertical=edu, arr=7000, churned_on=D),  # churned: never matches
        "acme": AccountFactory(name="Acme", vertical=tech, arr=90000),  # at risk, other vertical
    }
    bands = {"oak": "healthy", "elm": "at_risk", "ash": "neutral", "fir": "churned", "acme": "at_risk"}
    for key, band in bands.items():
        HealthScoreFactory(account=accounts[key], as_of=D, band=band, tier=tier3)
        # The day before, everything was at risk: the preview must read the latest day only.
        HealthScoreFactory(account=accounts[key], as_of=D - dt.timedelta(days=1), band="at_risk")
    return accounts


def form_data(rule, **fields):
    data = {"name": "Education to watch", "description": "", "touch_model": "high", "priority": "5", "active": "on"}
    data.update(fields)
    data["rule"] = rule if isinstance(rule, str) else json.dumps(rule)
    return data


# --- the preview selector ---------------------------------------------------------------------


def test_preview_counts_arr_and_lists_matches_on_the_latest_day(school):
    result = rule_preview(NESTED)
    assert result["errors"] == []
    assert result["as_of"] == D and result["has_results"]
    assert result["count"] == 2
    assert result["arr"] == Decimal("59000")
    assert [(a["name"], a["vertical"], a["arr"], a["band"]) for a in result["first"]] == [
        ("Oak", "Education", Decimal("50000.00"), "healthy"),
        ("Elm", "Education", Decimal("9000.00"), "at_risk"),
    ]
    assert result["first"][0]["id"] == school["oak"].pk
    # No segment yet: every match would enter.
    assert (result["members"], result["entering"], result["leaving"]) == (0, 2, 0)


def test_preview_compares_with_the_saved_segments_open_members(school):
    segment = SegmentFactory(name="Watch", rule=EDU)
    for key in ("oak", "ash", "acme"):
        SegmentMembershipFactory(segment=segment, account=school[key], entered_on=D - dt.timedelta(days=9))
    # A closed stay is history, not a member.
    SegmentMembershipFactory(
        segment=segment, account=school["elm"], entered_on=D - dt.timedelta(days=9), left_on=D - dt.timedelta(days=3)
    )
    result = rule_preview(NESTED, segment=segment)
    assert result["members"] == 3
    assert result["entering"] == 1  # elm
    assert result["leaving"] == 2  # ash, acme


def test_preview_of_an_invalid_rule_is_its_messages():
    rule = {"all": [{"field": "logins", "op": "gt", "value": 3}, {"field": "arr", "op": "between", "value": [9, 1]}]}
    assert rule_preview(rule) == {
        "errors": [
            "rule.all[0]: unknown field 'logins'",
            "rule.all[1].value: 'between' on field 'arr' needs low ≤ high, got [9, 1]",
        ]
    }


def test_preview_without_any_results_uses_today_and_says_so(db):
    AccountFactory(name="Lone", vertical=VerticalFactory(name="Education"))
    result = rule_preview(EDU)
    assert result["has_results"] is False
    assert result["count"] == 1
    assert result["first"][0]["band"] == "unknown"


def test_preview_lists_the_first_twenty_by_arr(db):
    edu = VerticalFactory(name="Education")
    for i in range(25):
        AccountFactory(name=f"School {i:02d}", vertical=edu, arr=1000 + i)
    result = rule_preview(EDU, as_of=D)
    assert result["count"] == 25
    assert len(result["first"]) == 20
    assert result["first"][0]["name"] == "School 24" and result["first"][-1]["name"] == "School 05"


def test_builder_options_offer_the_real_values(school, django_assert_num_queries):
    UseCaseFactory(name="PTA meetings")
    journey = JourneyFactory(vertical=school["oak"].vertical, use_case=UseCaseFactory(name="Board meetings"))
    StageFactory(journey=journey, name="First meeting booked", position=0)
    with django_assert_num_queries(5):
        options = rule_builder_options()
    values = options["values"]
    assert values["vertical"] == ["Education", "Tech Sales"]
    assert "PTA meetings" in values["use_case"] and values["primary_use_case"] == values["use_case"]
    assert values["tier"] == ["Tier 3"]
    assert values["owner"] == ["jo@example.com"]
    assert values["journey_stage"] == ["First meeting booked"]
    assert values["health_band"] == ["healthy", "neutral", "at_risk", "unknown"]
    assert values["persona"] == ["executive", "manager", "individual_contributor"]
    fields = {f["name"]: f for f in options["fields"]}
    assert fields["arr"] == {"name": "arr", "label": "ARR", "kind": "number"}
    assert options["ops_by_kind"]["text"] == ["eq", "ne", "in", "not_in", "is_null", "not_null"]


# --- who may use the form and the preview --------------------------------------------------------

NOT_ADMINS = ["anonymous", "csm", "leader"]


def user_of(request, who):
    return None if who == "anonymous" else request.getfixturevalue(who)


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_non_admins_get_no_form_no_save_and_no_preview(request, client_for, school, who):
    segment = SegmentFactory(name="Watch", rule=EDU)
    client = client_for(user_of(request, who))
    responses = [
        client.get(ADD),
        client.get(change_url(segment)),
        client.post(ADD, form_data(NESTED)),
        client.post(change_url(segment), form_data(NESTED, name="Renamed")),
        client.post(PREVIEW, {"rule": json.dumps(NESTED)}),
        client.post(PREVIEW, {"rule": json.dumps(NESTED), "segment": str(segment.pk)}),
    ]
    # Anonymous visitors meet the site's login first; signed-in non-staff the admin's.
    login = "/login/" if who == "anonymous" else "/admin/login/"
    for response in responses:
        assert response.status_code == 302
        assert response["Location"].startswith(f"{login}?next=/admin/segments/segment/")
    assert list(Segment.objects.values_list("name", "rule")) == [("Watch", EDU)]


def test_admin_opens_the_add_form_with_the_builder_and_its_values(client_for, cs_admin, school):
    response = client_for(cs_admin).get(ADD)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="rule-builder-config"' in html and "js/rule_builder.js" in html and "css/rule_builder.css" in html
    config = response.context["rule_builder"]
    assert config["preview_url"] == PREVIEW and config["segment"] is None
    assert config["values"]["vertical"] == ["Education", "Tech Sales"]


def test_admin_opens_the_change_form_with_the_rule_as_json(client_for, cs_admin, school):
    segment = SegmentFactory(name="Watch", rule=NESTED)
    response = client_for(cs_admin).get(change_url(segment))
    assert response.status_code == 200
    assert response.context["rule_builder"]["segment"] == segment.pk
    assert json.loads(response.context["adminform"].form["rule"].value()) == NESTED


def test_admin_saves_a_nested_rule(client_for, cs_admin, school):
    response = client_for(cs_admin).post(ADD, form_data(NESTED))
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert (segment.name, segment.slug, segment.touch_model, segment.rule) == (
        "Education to watch",
        "education-to-watch",
        "high",
        NESTED,
    )


def test_admin_changes_a_rule(client_for, cs_admin, school):
    segment = SegmentFactory(name="Watch", rule=EDU)
    response = client_for(cs_admin).post(change_url(segment), form_data({"not": EDU}, name="Watch"))
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.rule == {"not": EDU}


def test_admin_previews_a_rule(client_for, cs_admin, school):
    response = client_for(cs_admin).post(PREVIEW, {"rule": json.dumps(NESTED)})
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["count"] == 2 and response.context["entering"] == 2
    assert f'href="/accounts/{school["oak"].pk}/"' in html and "Elm" in html and "Acme" not in html
    assert "59,000" in html


def test_preview_of_a_saved_segment_counts_who_enters_and_leaves(client_for, cs_admin, school):
    segment = SegmentFactory(name="Watch", rule=EDU)
    SegmentMembershipFactory(segment=segment, account=school["ash"], entered_on=D)
    response = client_for(cs_admin).post(PREVIEW, {"rule": json.dumps(NESTED), "segment": str(segment.pk)})
    assert (response.context["members"], response.context["entering"], response.context["leaving"]) == (1, 2, 1)


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"rule": '{"all": [\n  {"field": "arr",}\n]}'},
            "rule: invalid JSON at line 2, column 19: Expecting property name",
        ),
        (
            {"rule": json.dumps({"all": [EDU, {"field": "arr", "op": "gt", "value": "big"}]})},
            "rule.all[1].value: expected a number, got &#x27;big&#x27; for field &#x27;arr&#x27;",
        ),
        ({"rule": ""}, "rule: a rule is required"),
        ({"rule": json.dumps(EDU), "segment": "12x"}, "segment: no segment with id &#x27;12x&#x27;"),
        ({"rule": json.dumps(EDU), "segment": "999999999999999999"}, "segment: no segment with id"),
    ],
)
def test_preview_of_bad_input_names_the_problem(client_for, cs_admin, school, data, message):
    response = client_for(cs_admin).post(PREVIEW, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "count" not in response.context


def test_preview_is_post_only(client_for, cs_admin):
    assert client_for(cs_admin).get(PREVIEW).status_code == 405


def test_staff_without_segment_permissions_cannot_preview(client_for, school):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_account"))
    segment = SegmentFactory(name="Watch", rule=EDU)
    client = client_for(clerk)
    assert client.post(PREVIEW, {"rule": json.dumps(EDU)}).status_code == 403
    assert client.post(PREVIEW, {"rule": json.dumps(EDU), "segment": str(segment.pk)}).status_code == 403


def test_staff_who_may_only_add_segments_preview_new_rules_but_not_saved_segments(client_for, school):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="add_segment"))
    segment = SegmentFactory(name="Watch", rule=EDU)
    client = client_for(clerk)
    assert client.post(PREVIEW, {"rule": json.dumps(EDU)}).context["count"] == 3
    assert client.post(PREVIEW, {"rule": json.dumps(EDU), "segment": str(segment.pk)}).status_code == 403


def test_preview_query_count_does_not_grow_with_accounts(client_for, cs_admin, school, django_assert_num_queries):
    client = client_for(cs_admin)
    segment = SegmentFactory(name="Watch", rule=EDU)
    data = {"rule": json.dumps(NESTED), "segment": str(segment.pk)}
    client.post(PREVIEW, data)  # warms the session and user caches
    # session, user, segment, permissions (2), latest day, count + ARR, members, entering, leaving,
    # the first 20 with their bands, the user's roles
    with django_assert_num_queries(12):
        small = client.post(PREVIEW, data)
    edu = school["oak"].vertical
    for i in range(30):
        account = AccountFactory(name=f"More {i}", vertical=edu, arr=40000 + i)
        HealthScoreFactory(account=account, as_of=D, band="healthy")
        SegmentMembershipFactory(segment=segment, account=account, entered_on=D)
    with django_assert_num_queries(12):
        big = client.post(PREVIEW, data)
    assert (small.context["count"], big.context["count"]) == (2, 32)
    assert len(big.context["first"]) == 20


# --- an invalid rule is never saved -------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"all": [EDU, {"field": "logins", "op": "gt", "value": 3}]}, "rule.all[1]: unknown field 'logins'"),
        (
            {"all": [{"field": "vertical", "op": "gt", "value": "E"}]},
            "rule.all[0].op: op 'gt' is not supported for text field 'vertical' (use one of eq, ne, in, not_in, is_null, not_null)",
        ),
        (
            {"any": [AT_RISK, {"field": "arr", "op": "gte", "value": "100k"}]},
            "rule.any[1].value: expected a number, got '100k' for field 'arr'",
        ),
        (
            {"all": [{"field": "health_band", "op": "eq", "value": "sick"}]},
            "rule.all[0].value: 'sick' is not a health_band (one of healthy, neutral, at_risk, unknown)",
        ),
        (
            {"all": [{"field": "arr", "op": "between", "value": [90000, 10000]}]},
            "rule.all[0].value: 'between' on field 'arr' needs low ≤ high, got [90000, 10000]",
        ),
        (
            {"all": [{"field": "arr", "op": "between", "value": [1]}]},
            "rule.all[0].value: 'between' on field 'arr' needs [low, high], got a list",
        ),
        (
            {"all": [{"field": "vertical", "op": "in", "value": []}]},
            "rule.all[0].value: op 'in' on field 'vertical' needs a non-empty list, got a list",
        ),
        ({"all": []}, "rule.all: empty group; list at least one rule"),
        (
            {"all": [{"not": [EDU]}]},
            'rule.all[0].not: \'not\' wraps one rule (an object), got a list; use {"not": {"any": [...]}}',
        ),
        ({"all": [EDU], "any": [AT_RISK]}, "rule: a group has exactly one of all, any, not; got all, any"),
        ({"all": [EDU, "Education"]}, "rule.all[1]: expected a rule object"),
        ({}, "rule: a rule is required"),
        ({"field": "arr"}, "rule: a condition needs op"),
    ],
)
def test_an_invalid_rule_is_refused_with_the_path_of_the_condition(client_for, cs_admin, school, rule, message):
    client = client_for(cs_admin)
    response = client.post(ADD, form_data(rule))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["rule"]
    assert any(e.startswith(message) for e in errors), errors
    assert "Please correct the error below." in response.content.decode()
    assert not Segment.objects.exists()

    segment = SegmentFactory(name="Watch", rule=EDU)
    response = client.post(change_url(segment), form_data(rule, name="Watch"))
    assert response.status_code == 200
    segment.refresh_from_db()
    assert segment.rule == EDU


def test_the_raw_json_view_posts_the_same_field(client_for, cs_admin, school):
    """What a power user types in the JSON view — any layout — is parsed, validated and saved."""
    client = client_for(cs_admin)
    typed = '{"any":[ {"field":"health_band","op":"in","value":["at_risk","neutral"]},\n\t{"not":{"field":"tier","op":"is_null"}} ]}'
    assert client.post(ADD, form_data(typed)).status_code == 302
    assert Segment.objects.get().rule == json.loads(typed)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '{"all": [\n  {"field": "vertical", "op": "eq", "value": "Education"}\n  {"field": "arr"}\n]}',
            "rule: invalid JSON at line 3, column 3: Expecting ',' delimiter",
        ),
        ("{'all': []}", "rule: invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes"),
        ('{"all": [NaN]}', "rule.all[0]: expected a rule object"),
        ("[" * 50000 + "]" * 50000, "rule: JSON nested too deeply"),
        (
            json.dumps({"field": "vertical", "op": "eq", "value": "x" * 100_000}),
            "rule: 100,046 characters is too long for a rule (at most 100,000)",
        ),
        (
            '{"field": "vertical", "op": "eq", "value": "Edu\\u0000"}',
            "rule.value: text for field 'vertical' contains a NUL character",
        ),
    ],
    ids=["missing comma", "single quotes", "NaN", "too deep", "too long", "NUL"],
)
def test_unparsable_raw_json_is_refused_with_where_it_breaks(client_for, cs_admin, school, text, message):
    response = client_for(cs_admin).post(ADD, form_data(text))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["rule"]
    assert any(e.startswith(message) for e in errors), errors
    assert text[:40] in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")  # shown again to fix
    assert not Segment.objects.exists()


def test_a_name_that_would_share_a_segment_address_is_refused(client_for, cs_admin, school):
    SegmentFactory(name="Education at risk", rule=EDU)
    response = client_for(cs_admin).post(ADD, form_data(NESTED, name="Education: at risk"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"] == [
        "name: 'Education: at risk' would share the address /segments/education-at-risk/ with 'Education at risk'"
    ]
    assert Segment.objects.count() == 1


def test_apply_config_with_a_bad_rule_changes_no_segment(tmp_path, school):
    segment = SegmentFactory(name="Watch", rule=EDU, touch_model="mid", priority=3)
    document = {
        "version": 1,
        "segments": [
            {"name": "Watch", "rule": NESTED, "touch_model": "high", "priority": 9},
            {"name": "New one", "rule": {"any": [AT_RISK, {"field": "owner", "op": "lt", "value": "jo@example.com"}]}},
        ],
    }
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(document))
    err = StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("apply_config", str(path), stdout=StringIO(), stderr=err)
    assert "segments[1].rule.any[1].op: op 'lt' is not supported for text field 'owner'" in err.getvalue()
    segment.refresh_from_db()
    assert (segment.rule, segment.touch_model, segment.priority) == (EDU, "mid", 3)
    assert list(Segment.objects.values_list("name", flat=True)) == ["Watch"]
