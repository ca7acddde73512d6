"""Every HTML page × every role, then every page with hostile query strings: never a 500.

The world is the demo's, small: seed_demo (verticals, use cases, features, scorecards, segments,
journeys, accounts with a year of usage) and a few days of recompute, so every page has rows.
"""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, Feature, StatedDriver, Vertical
from configuration.audit import audit_record
from configuration.models import AuditEntry
from configuration.services import rule_snapshot
from health.models import Scorecard
from journeys.models import Journey
from pipeline.models import RecomputeRun
from segments.models import Segment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)

LOGIN = "login"  # anonymous: the app's login page
ADMIN_LOGIN = "admin-login"  # not staff: the admin's login page
OK, FORBIDDEN, NOT_ALLOWED = 200, 403, 405

# url name → (anonymous, csm, leader, cs_admin). {…} are filled from the world.
APP_PAGES = {
    "/": (LOGIN, OK, OK, OK),
    "/profile/": (LOGIN, OK, OK, OK),
    "/accounts/": (LOGIN, OK, OK, OK),
    "/accounts/export.csv": (LOGIN, OK, OK, OK),
    "/accounts/{account}/": (LOGIN, OK, OK, OK),
    "/risk/": (LOGIN, OK, OK, OK),
    "/risk/?format=csv": (LOGIN, OK, OK, OK),
    "/verticals/": (LOGIN, OK, OK, OK),
    "/verticals/{vertical}/": (LOGIN, OK, OK, OK),
    "/revenue/": (LOGIN, FORBIDDEN, OK, OK),
    "/revenue/?format=csv": (LOGIN, FORBIDDEN, OK, OK),
    "/revenue/?format=csv&table=trend": (LOGIN, FORBIDDEN, OK, OK),
    "/segments/": (LOGIN, OK, OK, OK),
    "/segments/{segment}/": (LOGIN, OK, OK, OK),
    "/segments/{segment}/export.csv": (LOGIN, OK, OK, OK),
    "/journeys/": (LOGIN, OK, OK, OK),
    "/journeys/?vertical={vertical}": (LOGIN, OK, OK, OK),
    "/scorecards/": (LOGIN, OK, OK, OK),
    "/scorecards/{scorecard}/": (LOGIN, OK, OK, OK),
}

# The admin pages of #4. Anonymous visitors meet the app's login (LoginRequiredMiddleware comes
# first); a signed-in user who is not staff, the admin's login page.
ADMIN_PAGES = {
    "/admin/": (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/segments/segment/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/segments/segment/add/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/segments/segment/{segment_id}/change/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/segments/segment/{segment_id}/history/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/health/scorecard/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/health/scorecard/add/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/health/scorecard/{scorecard}/change/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/health/scorecard/{scorecard}/history/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/journeys/journey/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/journeys/journey/{journey}/change/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/journeys/journey/{journey}/history/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/pipeline/recomputerun/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/pipeline/recomputerun/{run}/progress/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/pipeline/recomputerun/{run}/progress/status/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/config/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/config/download/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/configuration/auditentry/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/configuration/auditentry/{entry}/change/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/pipeline/recomputerun/{run}/change/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/accounts/account/import/template/accounts.csv": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    # A revert's GET is its confirmation (what will change, a reason to give); only its POST reverts.
    "/admin/health/scorecard/{scorecard}/history/{entry}/revert/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    "/admin/configuration/auditentry/{entry}/revert/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK),
    # POST-only actions: a GET changes nothing.
    "/admin/segments/segment/preview/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, NOT_ALLOWED),
    "/admin/health/scorecard/{scorecard}/preview/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, NOT_ALLOWED),
    "/admin/pipeline/recomputerun/start/": (LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, NOT_ALLOWED),
}
# The actions a POST performs: the POST-only ones and the reverts (whose GET only asks).
POSTS = [t for t, roles in ADMIN_PAGES.items() if roles[-1] == NOT_ALLOWED or t.endswith("/revert/")]
PAGES = {**APP_PAGES, **ADMIN_PAGES}
ROLES = ("anonymous", "csm", "leader", "cs_admin")


@pytest.fixture
def world(csm, leader, cs_admin, client_for):
    call_command("seed_demo", accounts=12, today=D.isoformat(), stdout=io.StringIO())
    for day in (D - dt.timedelta(days=2), D - dt.timedelta(days=1), D):
        call_command("recompute", as_of=day.isoformat(), stdout=io.StringIO())
    scorecard = Scorecard.objects.order_by("pk").first()
    # A change of the scorecard (healthy at 71 → its current value): an audit entry to show and revert.
    after = rule_snapshot(kind="scorecards", pk=scorecard.pk)
    entry = audit_record(
        kind="scorecards",
        object_id=scorecard.pk,
        name=scorecard.name,
        before={**after, "healthy_at": 71},
        after=after,
        actor=cs_admin,
        source=AuditEntry.Source.ADMIN,
    )
    run = RecomputeRun.objects.create(as_of=D, status="succeeded", active_lock=None)
    segment = Segment.objects.filter(memberships__isnull=False).order_by("pk").first()
    return {
        "account": Account.objects.order_by("pk").first().pk,
        "vertical": Vertical.objects.filter(accounts__isnull=False).order_by("pk").first().slug,
        "segment": segment.slug,
        "segment_id": segment.pk,
        "scorecard": scorecard.pk,
        "journey": Journey.objects.order_by("pk").first().pk,
        "run": run.pk,
        "entry": entry.pk,
    }


def users(request):
    """The cast, read again: seed_demo set their passwords, which ends sessions made before."""
    cast = {role: request.getfixturevalue(role) for role in ROLES[1:]}
    for user in cast.values():
        user.refresh_from_db()
    return {"anonymous": None, **cast}


def check(response, expected, url):
    if expected == LOGIN:
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), url
    elif expected == ADMIN_LOGIN:
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next="), url
    else:
        assert response.status_code == expected, url


def test_permission_matrix(request, client_for, world):
    """len(PAGES) × 4 roles: login redirect, 403, 405 for POST-only actions, 200 otherwise."""
    people = users(request)
    failures = []
    for template, expected_by_role in PAGES.items():
        url = template.format(**world)
        for role, expected in zip(ROLES, expected_by_role, strict=True):
            response = client_for(people[role]).get(url)
            try:
                check(response, expected, url)
            except AssertionError:
                failures.append(
                    f"{role} GET {url}: {response.status_code} {response.get('Location', '')}, expected {expected}"
                )
    assert not failures, "\n".join(failures)


# A signed-in user without a role (people.middleware.RoleRequiredMiddleware) meets the 403 page
# everywhere but their profile, where they can see they have no role and revoke their tokens.
NO_ROLE_ALLOWED = {"/profile/"}


def test_a_user_without_a_role_is_refused_everywhere(client_for, world, no_role):
    client = client_for(no_role)
    failures = []
    for template in PAGES:
        url = template.format(**world)
        expected = OK if template in NO_ROLE_ALLOWED else FORBIDDEN
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if method == "post" and template in NO_ROLE_ALLOWED:
                continue
            if response.status_code != expected:
                failures.append(f"{method.upper()} {url}: {response.status_code}, expected {expected}")
            elif expected == FORBIDDEN and b"has no CS Portal role" not in response.content:
                failures.append(f"{method.upper()} {url}: 403 without the app's 403 page")
    assert not failures, "\n".join(failures)
    assert client.post(f"/accounts/{world['account']}/drivers/", {"feature": "1"}).status_code == FORBIDDEN
    assert client.post("/logout/").status_code == 302  # logging out still works


def test_staff_without_a_role_may_read_pages(client_for, world):
    """Staff are trusted with the admin, so the pages open for them too (roles.is_team_member)."""
    client = client_for(UserFactory(username="intern", is_staff=True))
    assert client.get("/accounts/").status_code == OK
    assert client.get("/revenue/").status_code == FORBIDDEN  # still a leader's page


def test_post_only_actions_refuse_everyone_but_cs_admins(request, client_for, world):
    """A POST from a CSM or leader (not staff) goes to the admin login; nothing is run or reverted."""
    people = users(request)
    posts = [t.format(**world) for t in POSTS]
    runs, entries = RecomputeRun.objects.count(), AuditEntry.objects.count()
    for role in ROLES[:3]:
        for url in posts:
            check(
                client_for(people[role]).post(url, {"reason": "r"}), LOGIN if role == "anonymous" else ADMIN_LOGIN, url
            )
    assert (RecomputeRun.objects.count(), AuditEntry.objects.count()) == (runs, entries)
    # Staff without the CS Admin role may not start a recompute or revert.
    intern = client_for(UserFactory(username="intern", is_staff=True))
    for url in posts:
        if "preview" not in url:
            assert intern.post(url, {"reason": "r"}).status_code in (302, 403), url
    assert (RecomputeRun.objects.count(), AuditEntry.objects.count()) == (runs, entries)


def test_post_only_actions_keep_csrf(request, world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users(request)["cs_admin"])
    for template in POSTS:
        url = template.format(**world)
        assert client.post(url, {"reason": "r"}).status_code == 403, url
    assert client.post(f"/accounts/{world['account']}/drivers/", {"feature": "1"}).status_code == 403


HOSTILE = [
    "page=-1",
    "page=abc",
    "page=999999",
    "page=0",
    "page=1e3",
    "vertical=%3Cscript%3Ealert(1)%3C/script%3E",
    "owner=abc",
    "owner=-1",
    "owner=99999999999999999999",
    "segment=nope",
    "format=xml",
    "format=csv&table=nope",
    "table=nope",
    "q=" + "x" * 5000,
    "vertical=" + "v" * 5000,
    "page=" + "9" * 400,
    "vertical=a&vertical=b&page=1&page=2",
    "q=%00",
    "vertical=%00",
    "owner=%00",
    "segment=%00",
    "page=%00",
    "table=%00&format=csv",
    "format=%00",
    "q=%FF%FE",
    "vertical=%C0%AF",
    "sort=%27;drop",
    "htmx=1&page=2",
]
HOSTILE_PAGES = [t for t, roles in PAGES.items() if roles[-1] == OK and "?" not in t]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_query_strings_never_give_a_500(request, client_for, world, query):
    client = client_for(users(request)["cs_admin"])
    client.raise_request_exception = True
    failures = []
    for template in HOSTILE_PAGES:
        url = template.format(**world) + "?" + query
        try:
            response = client.get(url)
        except Exception as exc:  # noqa: BLE001 — the point is to list every page that raises
            failures.append(f"{url[:120]}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        if response.status_code == 302 and response["Location"].endswith("?e=1"):
            continue  # the admin's change lists: an unknown filter parameter is dropped, with a note
        if response.status_code not in (200, 400):
            failures.append(f"{url[:120]}: {response.status_code}")
        elif response.status_code == 400:
            body = response.content.decode(errors="replace")
            field = query.split("=")[0] if "format=csv&" not in query else "table"
            if f"{field}:" not in body and f"{field} " not in body:
                failures.append(f"{url[:120]}: 400 without naming '{field}'")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("query", ["page=-1", "page=abc", "page=999999", "vertical=%00", "segment=nope", "owner=abc"])
def test_htmx_partials_with_hostile_query_strings(request, client_for, world, query):
    client = client_for(users(request)["csm"])
    for url in ("/accounts/", "/risk/"):
        response = client.get(f"{url}?{query}", headers={"HX-Request": "true"})
        assert response.status_code in (200, 400), (url, query)


HOSTILE_PATHS = [
    "/accounts/99999999999999999999/",
    "/scorecards/99999999999999999999/",
    "/verticals/nope/",
    "/segments/nope/",
    "/segments/nope/export.csv",
    "/admin/configuration/auditentry/abc/change/",
    "/admin/configuration/auditentry/%C2%B2/change/",
    "/admin/configuration/auditentry/99999999999999999999/change/",
    "/admin/health/scorecard/abc/history/",
    "/admin/health/scorecard/abc/change/",
    "/admin/pipeline/recomputerun/99999999999999999999/progress/",
    "/admin/segments/segment/99999999999999999999/history/",
    "/admin/journeys/journey/abc/history/",
]


def test_unknown_ids_in_paths_are_not_found_not_a_500(request, client_for, world):
    client = client_for(users(request)["cs_admin"])
    client.raise_request_exception = True
    failures = []
    for url in HOSTILE_PATHS:
        try:
            response = client.get(url)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{url}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        # 404, or the admin's redirect to its index with "doesn't exist" for an unknown object.
        if response.status_code not in (302, 404):
            failures.append(f"{url}: {response.status_code}")
    assert not failures, "\n".join(failures)


HOSTILE_POSTS = [
    ("/accounts/{account}/drivers/", {"feature": "abc", "note": "x"}, 400),
    ("/accounts/{account}/drivers/", {"feature": "99999999999999999999"}, 400),
    ("/accounts/{account}/drivers/", {"feature": "\x00"}, 400),
    ("/admin/segments/segment/preview/", {"rule": "{not json"}, 200),
    ("/admin/segments/segment/preview/", {"rule": '{"field": "vertical\\u0000", "op": "eq", "value": "x"}'}, 200),
    ("/admin/segments/segment/preview/", {"rule": '{"field": "arr", "op": "gt", "value": "\\u0000"}'}, 200),
    ("/admin/segments/segment/preview/", {"rule": "[]" * 5000}, 200),
    ("/admin/segments/segment/preview/", {"segment": "abc", "rule": "{}"}, 200),
    ("/admin/segments/segment/preview/", {"segment": "99999999999999999999", "rule": "{}"}, 200),
    ("/admin/health/scorecard/{scorecard}/preview/", {}, 200),
    ("/admin/health/scorecard/{scorecard}/preview/", {"name": "\x00", "healthy_at": "abc"}, 200),
    ("/admin/config/", {"action": "apply", "document": "{not json"}, 200),
    ("/admin/config/", {"action": "apply", "document": '{"version": 1, "verticals": [{"name": "\\u0000"}]}'}, 200),
    ("/admin/config/", {"action": "apply", "document": '{"version": "x", "segments": {"a": 1}}'}, 200),
    ("/admin/config/", {"action": "apply", "document": "[1, 2]"}, 200),
]


@pytest.mark.parametrize(("template", "data", "expected"), HOSTILE_POSTS)
def test_hostile_form_posts_get_a_message_not_a_500(request, client_for, world, template, data, expected):
    client = client_for(users(request)["cs_admin"])
    client.raise_request_exception = True
    before = (StatedDriver.objects.count(), Vertical.objects.count(), AuditEntry.objects.count())
    response = client.post(template.format(**world), data)
    assert response.status_code == expected
    assert (StatedDriver.objects.count(), Vertical.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize("seeded", [False, True], ids=["empty", "accounts-without-results"])
def test_every_page_before_any_results(request, client_for, cs_admin, seeded):
    """A fresh install (nothing at all) and one whose accounts are loaded but not yet recomputed."""
    if seeded:
        call_command("seed_demo", accounts=5, today=D.isoformat(), stdout=io.StringIO())
        cs_admin.refresh_from_db()
    client = client_for(cs_admin)
    client.raise_request_exception = True
    first = {
        "account": getattr(Account.objects.first(), "pk", 1),
        "vertical": getattr(Vertical.objects.first(), "slug", "none"),
        "segment": getattr(Segment.objects.first(), "slug", "none"),
        "scorecard": getattr(Scorecard.objects.first(), "pk", 1),
    }
    failures = []
    for template in APP_PAGES:
        url = template.format(**first)
        try:
            status = client.get(url).status_code
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{url}: {type(exc).__name__}: {str(exc)[:160]}")
            continue
        expected = (200,) if seeded or "{" not in template else (200, 400, 404)  # "none": no such object
        if status not in expected:
            failures.append(f"{url}: {status}")
    assert not failures, "\n".join(failures)


def test_recording_a_stated_driver_by_role(request, client_for, world):
    """CSMs and CS Admins record stated drivers (SPEC §7); leaders read them; a GET records nothing."""
    people = users(request)
    url = f"/accounts/{world['account']}/drivers/"
    data = {"feature": Feature.objects.order_by("pk").first().pk, "note": "they say so"}
    expected = {"anonymous": LOGIN, "csm": 302, "leader": FORBIDDEN, "cs_admin": 302}
    recorded = StatedDriver.objects.filter(account_id=world["account"]).count()
    for role, status in expected.items():
        client = client_for(people[role])
        if role != "anonymous":
            assert client.get(url).status_code == NOT_ALLOWED, role
        check(client.post(url, data), status, f"{role} POST {url}")
    assert StatedDriver.objects.filter(account_id=world["account"]).count() == recorded + 2


def _page_queries(client, templates: list[str], world: dict) -> dict[str, int]:
    counts = {}
    for template in templates:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(template.format(**world))
        assert response.status_code == 200, template
        counts[template] = len(queries)
    return counts


def test_no_page_runs_more_queries_with_more_accounts(client_for, leader):
    """Every app page, for a leader, on 120 accounts and then on 240: the same number of queries (enough
    accounts on both sides that every section has rows: a section with none skips its queries)."""
    counts = []
    for accounts in (120, 240):
        call_command("seed_demo", accounts=accounts, today=D.isoformat(), reset=True, stdout=io.StringIO())
        for day in (D - dt.timedelta(days=1), D):
            call_command("recompute", as_of=day.isoformat(), stdout=io.StringIO())
        leader.refresh_from_db()
        world = {
            "account": Account.objects.order_by("-arr").first().pk,
            "vertical": Vertical.objects.order_by("name").first().slug,
            "segment": Segment.objects.order_by("name").first().slug,
            "scorecard": Scorecard.objects.order_by("name").first().pk,
        }
        # The account page's count depends on that account's own data (results a week before, enough
        # healthy peers for cross-pollination): tests/dashboards/test_views_accounts.py pins it on fixed data.
        pages = [t for t in APP_PAGES if "export" not in t and "csv" not in t and "{account}" not in t]
        counts.append(_page_queries(client_for(leader), pages, world))
    small, large = counts
    grown = {url: (small[url], large[url]) for url in small if large[url] > small[url]}
    assert not grown, grown
