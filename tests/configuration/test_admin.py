"""The rule admins and admin operations: scorecards (validated like apply_config, previewed), journeys,
recompute now, the configuration file and the operations links — with a permission test per role."""

import datetime as dt
import io
import json

import pytest
from django.urls import reverse

from accounts.models import Feature
from configuration.models import AuditEntry
from configuration.services import config_apply, config_export
from health.models import AccountMetrics, Measure, Scorecard
from journeys.models import Journey
from pipeline.models import RecomputeRun
from tests.factories import (
    AccountFactory,
    FeatureFactory,
    HealthScoreFactory,
    UseCaseFactory,
    UserFactory,
    VerticalFactory,
)

pytestmark = pytest.mark.django_db
D = dt.date(2026, 6, 30)


def formset(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": len(rows),
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


def scorecard_form(sc: Scorecard | None = None, *, measures=None, **fields) -> dict:
    """The change form as the browser posts it: the saved values, with `fields` and `measures` edited."""
    data = {"name": "New card", "vertical": "", "use_case": "", "active": "on", "healthy_at": 70, "at_risk_below": 40}
    rows, initial = [], 0
    if sc is not None:
        data.update(
            name=sc.name,
            vertical=sc.vertical_id or "",
            use_case=sc.use_case_id or "",
            healthy_at=sc.healthy_at,
            at_risk_below=sc.at_risk_below,
        )
        if not sc.active:
            data.pop("active")
        for m in sc.measures.all():
            rows.append(
                {
                    "id": m.pk,
                    "scorecard": sc.pk,
                    "position": m.position,
                    "metric": m.metric,
                    "weight": m.weight,
                    "red": m.red,
                    "green": m.green,
                }
            )
        initial = len(rows)
    for i, change in enumerate(measures or []):
        if i < len(rows):
            rows[i].update(change)
        else:
            rows.append({"position": i, "weight": 1, **change})
    data.update(fields)
    if data.get("active") is False:
        data.pop("active")
    return {k: v for k, v in data.items()} | formset("measures", rows, initial)


@pytest.fixture
def education():
    vertical = VerticalFactory(name="Education")
    config_apply(
        document={
            "version": 1,
            "verticals": [{"name": "Education"}],
            "scorecards": [
                {
                    "name": "Education",
                    "vertical": "Education",
                    "healthy_at": 70,
                    "at_risk_below": 40,
                    "measures": [
                        {"metric": "active_days_90d", "weight": 2, "red": 0, "green": 10},
                        {"metric": "days_since_last_activity", "weight": 1, "red": 100, "green": 0},
                    ],
                }
            ],
        }
    )
    return Scorecard.objects.get(name="Education"), vertical


def change_url(sc):
    return reverse("admin:health_scorecard_change", args=[sc.pk])


# --- scorecards: validation the way apply_config validates ---------------------------------------


def test_admin_saves_a_scorecard_with_its_measures(client_for, cs_admin, education):
    sc, _ = education
    response = client_for(cs_admin).post(change_url(sc), scorecard_form(sc, measures=[{"green": 7}], healthy_at=65))
    assert response.status_code == 302, response.content.decode()[:2000]
    sc.refresh_from_db()
    assert sc.healthy_at == 65
    assert [float(m.green) for m in sc.measures.all()] == [7, 0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"measures": [{"green": 0}]}, "must differ from red"),
        ({"measures": [{"weight": 0}]}, "must be greater than 0"),
        ({"measures": [{}, {"metric": "active_days_90d"}]}, "&#x27;active_days_90d&#x27; is already measured"),
        ({"at_risk_below": 80}, "must be at most healthy_at"),
        ({"healthy_at": 101}, "less than or equal to 100"),
        ({"at_risk_below": -1}, "greater than or equal to 0"),
        ({"measures": [{"DELETE": "on"}, {"DELETE": "on"}]}, "a scorecard needs at least one measure"),
    ],
)
def test_invalid_scorecards_are_refused_with_a_clear_message(client_for, cs_admin, education, edit, message):
    sc, _ = education
    before = config_export()
    response = client_for(cs_admin).post(change_url(sc), scorecard_form(sc, **edit))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert config_export() == before


def test_two_active_scorecards_cannot_share_a_scope(client_for, cs_admin, education):
    _, vertical = education
    before = config_export()
    data = scorecard_form(
        name="Education bis", vertical=vertical.pk, measures=[{"metric": "events_30d", "red": 0, "green": 50}]
    )
    page = client_for(cs_admin).post(reverse("admin:health_scorecard_add"), data).content.decode()
    assert "another active scorecard has the same scope" in page
    assert config_export() == before
    data.pop("active")  # an inactive one may
    assert client_for(cs_admin).post(reverse("admin:health_scorecard_add"), data).status_code == 302
    assert Scorecard.objects.get(name="Education bis").measures.count() == 1


def test_renaming_a_scorecard_is_not_a_scope_clash_with_itself(client_for, cs_admin, education):
    sc, _ = education
    assert client_for(cs_admin).post(change_url(sc), scorecard_form(sc, name="Schools")).status_code == 302
    assert Scorecard.objects.get(pk=sc.pk).name == "Schools"


def test_metric_picker_says_what_each_metric_means(client_for, cs_admin, education):
    sc, _ = education
    page = client_for(cs_admin).get(change_url(sc)).content.decode()
    assert "Days since last activity — lower is better" in page
    assert 'data-meaning="Distinct days with events in the last 90 days"' in page
    assert "Preview band changes" in page


# --- scorecard preview ----------------------------------------------------------------------------


def test_preview_compares_saved_and_edited_bands(client_for, cs_admin, education):
    sc, vertical = education
    for days, name in ((3, "Slow school"), (9, "Busy school")):
        account = AccountFactory(name=name, vertical=vertical)
        AccountMetrics.objects.create(account=account, as_of=D, active_days_90d=days, days_since_last_activity=5)
        HealthScoreFactory(account=account, as_of=D, band="unknown")
    url = reverse("admin:health_scorecard_preview", args=[sc.pk])
    # Saved: (2×30 + 95)/3 = 52 neutral and (2×90 + 95)/3 = 92 healthy. Green 4: (2×75+95)/3 = 82 healthy.
    page = client_for(cs_admin).post(url, scorecard_form(sc, measures=[{"green": 4}])).content.decode()
    assert '<strong class="changed-count">1</strong> would change band' in page
    assert 'data-band="healthy"><td>Healthy</td><td class="saved">1</td><td class="edited">2</td>' in page
    assert f'href="/accounts/{AccountFactory._meta.model.objects.get(name="Slow school").pk}/"' in page
    assert "52 Neutral" in page and "82 Healthy" in page
    assert Measure.objects.get(scorecard=sc, metric="active_days_90d").green == 10  # nothing saved


def test_preview_of_an_invalid_form_lists_the_errors(client_for, cs_admin, education):
    sc, _ = education
    url = reverse("admin:health_scorecard_preview", args=[sc.pk])
    page = client_for(cs_admin).post(url, scorecard_form(sc, measures=[{"green": 0}])).content.decode()
    assert "Fix these first" in page and "must differ from red" in page


def test_preview_on_the_add_form_and_only_by_post(client_for, cs_admin, education):
    _, vertical = education
    client = client_for(cs_admin)
    url = reverse("admin:health_scorecard_preview")
    assert client.get(url).status_code == 405
    data = scorecard_form(
        name="Other", use_case=UseCaseFactory(name="PTA").pk, measures=[{"metric": "events_30d", "red": 0, "green": 50}]
    )
    assert "No results yet" in client.post(url, data).content.decode()


# --- journeys ---------------------------------------------------------------------------------------


@pytest.fixture
def journey():
    vertical, use_case = VerticalFactory(name="Education"), UseCaseFactory(name="PTA meetings")
    for key in ("scheduling", "reminders", "video"):
        FeatureFactory(key=key)
    config_apply(
        document={
            "version": 1,
            "journeys": [
                {
                    "vertical": "Education",
                    "use_case": "PTA meetings",
                    "stages": [
                        {"name": "Booked", "features": ["scheduling"], "min_events_90d": 1},
                        {"name": "Reminded", "features": ["reminders"], "min_events_90d": 5},
                    ],
                }
            ],
        }
    )
    return Journey.objects.get(vertical=vertical, use_case=use_case)


def journey_form(journey, stages):
    rows = []
    features = {f.key: f.key for f in Feature.objects.all()}
    saved = list(journey.stages.all())
    for i, stage in enumerate(stages):
        row = {"position": i, "min_events_90d": 1, **stage}
        if i < len(saved):
            row.update(id=saved[i].pk, journey=journey.pk)
        row["features"] = [features.get(k, k) for k in stage.get("features", [])]
        rows.append(row)
    return {"vertical": journey.vertical_id, "use_case": journey.use_case_id} | formset("stages", rows, len(saved))


def test_admin_reorders_journey_stages_and_picks_features(client_for, cs_admin, journey):
    url = reverse("admin:journeys_journey_change", args=[journey.pk])
    data = journey_form(
        journey,
        [
            {"name": "Booked", "features": ["scheduling"], "position": 5},
            {"name": "Reminded", "features": ["reminders", "video"], "position": 1, "min_events_90d": 3},
            {"name": "On video", "features": ["video"], "position": 9},
        ],
    )
    response = client_for(cs_admin).post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert config_export()["journeys"][0]["stages"] == [
        {"name": "Reminded", "features": ["reminders", "video"], "min_events_90d": 3},
        {"name": "Booked", "features": ["scheduling"], "min_events_90d": 1},
        {"name": "On video", "features": ["video"], "min_events_90d": 1},
    ]
    assert list(journey.stages.values_list("position", flat=True)) == [0, 1, 2]


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([{"name": "Booked", "features": []}], "This field is required"),
        (
            [{"name": "Booked", "features": ["scheduling"]}, {"name": "booked", "features": ["video"]}],
            "is already a stage of this journey",
        ),
        ([{"name": "Booked", "features": ["scheduling"], "min_events_90d": -1}], "greater than or equal to 0"),
        ([{"name": "Booked", "features": ["nonsense"]}], "Select a valid choice"),
        (
            [
                {"name": "Booked", "features": ["scheduling"], "DELETE": "on"},
                {"name": "Reminded", "features": ["reminders"], "DELETE": "on"},
            ],
            "a journey needs at least one stage",
        ),
    ],
)
def test_invalid_journeys_are_refused(client_for, cs_admin, journey, stages, message):
    before = config_export()
    url = reverse("admin:journeys_journey_change", args=[journey.pk])
    page = client_for(cs_admin).post(url, journey_form(journey, stages)).content.decode()
    assert message in page.replace("&#x27;", "'")
    assert config_export() == before


# --- recompute now --------------------------------------------------------------------------------


def test_recompute_now_queues_a_run_and_shows_its_progress(client_for, cs_admin, django_capture_on_commit_callbacks):
    client = client_for(cs_admin)
    assert "Recompute now" in client.get(reverse("admin:pipeline_recomputerun_changelist")).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("admin:pipeline_recomputerun_start"))
    run = RecomputeRun.objects.get()
    assert response["Location"] == reverse("admin:pipeline_recomputerun_progress", args=[run.pk])
    assert len(callbacks) == 1  # handed to the workers only once the request's transaction commits
    page = client.get(response["Location"]).content.decode()
    assert "Queued" in page and 'hx-trigger="every 2s"' in page and "django_htmx/htmx-2.min.js" in page
    RecomputeRun.objects.filter(pk=run.pk).update(status="running", chunks_total=4, chunks_done=3)
    assert "3/4 chunks" in client.get(reverse("admin:pipeline_recomputerun_status", args=[run.pk])).content.decode()
    callbacks[0]()  # eager Celery: the run computes here
    run.refresh_from_db()
    assert run.status == "succeeded"
    partial = client.get(reverse("admin:pipeline_recomputerun_status", args=[run.pk])).content.decode()
    assert (
        "Succeeded" in partial and "hx-trigger" not in partial and "Accounts scored" in partial and " s</td>" in partial
    )


def test_recompute_now_while_a_run_is_active_says_so(client_for, cs_admin):
    busy = RecomputeRun.objects.create(as_of=D, status="running")
    response = client_for(cs_admin).post(reverse("admin:pipeline_recomputerun_start"), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Not started: a recompute is already in progress" in page
    assert response.redirect_chain[-1][0] == reverse("admin:pipeline_recomputerun_progress", args=[busy.pk])
    assert RecomputeRun.objects.filter(active_lock=True).count() == 1


def test_a_failed_run_shows_its_error(client_for, cs_admin):
    run = RecomputeRun.objects.create(as_of=D, status="failed", active_lock=None, error="chunk 1–9: boom")
    page = client_for(cs_admin).get(reverse("admin:pipeline_recomputerun_progress", args=[run.pk])).content.decode()
    assert "chunk 1–9: boom" in page and "hx-trigger" not in page


# --- the configuration file -----------------------------------------------------------------------


def upload(document, name="rules.json"):
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    handle = io.BytesIO(raw)
    handle.name = name
    return handle


def test_download_is_the_export_config_document(client_for, cs_admin, education):
    response = client_for(cs_admin).get(reverse("admin-config-download"))
    assert response["Content-Disposition"].startswith('attachment; filename="cs-portal-config-')
    assert json.loads(response.content) == config_export()


def test_upload_is_a_dry_run_then_apply(client_for, cs_admin, education):
    client = client_for(cs_admin)
    document = config_export()
    document["scorecards"][0]["healthy_at"] = 75
    page = client.post(reverse("admin-config"), {"file": upload(document)}).content.decode()
    assert "scorecards: would be updated &#x27;Education&#x27;" in page
    assert Scorecard.objects.get(name="Education").healthy_at == 70  # the dry run changed nothing
    response = client.post(
        reverse("admin-config"), {"action": "apply", "document": json.dumps(document), "filename": "rules.json"}
    )
    assert response.status_code == 302
    assert Scorecard.objects.get(name="Education").healthy_at == 75
    page = client.get(reverse("admin-config")).content.decode()
    assert "Applied rules.json: scorecards: updated" in page.replace("&#x27;", "'")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\xff\xfe{", ["rules.json: not UTF-8 text (byte 1)"]),
        (b'{"version": 1,\n  "verticals": [', ["rules.json: not valid JSON: line 2, column 17"]),
        (
            json.dumps(
                {
                    "version": 1,
                    "scorecards": [{"name": "X", "measures": [{"metric": "logins", "red": 1, "green": 1}]}],
                    "segmnts": [],
                }
            ).encode(),
            [
                "segmnts: unknown key",
                "scorecards[0].measures[0].metric: unknown metric &#x27;logins&#x27;",
                "scorecards[0].measures[0].green: must differ from red (1)",
            ],
        ),
    ],
)
def test_an_invalid_document_shows_every_error_and_changes_nothing(client_for, cs_admin, education, raw, expected):
    before = config_export()
    client = client_for(cs_admin)
    page = client.post(reverse("admin-config"), {"file": upload(raw)}).content.decode()
    for line in expected:
        assert line in page
    assert "nothing was changed" in page and "Apply these changes" not in page
    page = client.post(
        reverse("admin-config"), {"action": "apply", "document": raw.decode("utf-8", "replace")}
    ).content.decode()
    assert "nothing was changed" in page
    assert config_export() == before


# --- the operations links and the CSV import's error list ------------------------------------------


def test_admin_index_links_the_operations(client_for, cs_admin):
    page = client_for(cs_admin).get("/admin/").content.decode()
    for url in (
        reverse("admin:accounts_import"),
        reverse("admin-config"),
        reverse("admin:pipeline_recomputerun_changelist"),
        reverse("admin:configuration_auditentry_changelist"),
    ):
        assert f'href="{url}"' in page


@pytest.mark.django_db(transaction=True)  # the import task is queued on commit
def test_the_import_linked_from_the_index_lists_every_bad_row(client_for, cs_admin):
    client = client_for(cs_admin)
    assert f'href="{reverse("admin:accounts_import")}"' in client.get("/admin/").content.decode()
    AccountFactory(external_id="ACC-1")
    bad = io.BytesIO(
        b"account_external_id,date,feature,events,active_users\nACC-1,2026-13-01,x,1,1\nNOPE,2026-01-01,x,1,1\n"
    )
    bad.name = "usage.csv"
    page = client.post(reverse("admin:accounts_import"), {"kind": "usage", "file": bad}, follow=True).content.decode()
    assert "nothing was written" in page
    assert "<code>line 2: date:" in page
    assert "<code>line 3: account_external_id: unknown account &#x27;NOPE&#x27;</code>" in page


# --- who may use all this ---------------------------------------------------------------------------


@pytest.fixture
def admin_urls(education, journey):
    sc, _ = education
    run = RecomputeRun.objects.create(as_of=D, status="succeeded", active_lock=None)
    return {
        "get": [
            reverse("admin:health_scorecard_change", args=[sc.pk]),
            reverse("admin:health_scorecard_history", args=[sc.pk]),
            reverse("admin:journeys_journey_change", args=[journey.pk]),
            reverse("admin:journeys_journey_history", args=[journey.pk]),
            reverse("admin:pipeline_recomputerun_progress", args=[run.pk]),
            reverse("admin:pipeline_recomputerun_status", args=[run.pk]),
            reverse("admin:configuration_auditentry_changelist"),
            reverse("admin:configuration_auditentry_change", args=[AuditEntry.objects.first().pk]),
            reverse("admin-config"),
            reverse("admin-config-download"),
        ],
        "post": [
            reverse("admin:health_scorecard_preview", args=[sc.pk]),
            reverse("admin:pipeline_recomputerun_start"),
            reverse("admin:pipeline_recomputerun_cancel", args=[run.pk]),
            reverse("admin:health_scorecard_revert", args=[sc.pk, 1]),
            reverse("admin:configuration_auditentry_revert", args=[AuditEntry.objects.first().pk]),
            reverse("admin-config"),
        ],
    }


@pytest.mark.parametrize("who", [None, "csm", "leader"])
def test_only_cs_admins_get_in(request, client_for, admin_urls, who):
    client = client_for(request.getfixturevalue(who) if who else None)
    for method in ("get", "post"):
        for url in admin_urls[method]:
            response = getattr(client, method)(url)
            assert response.status_code == 302 and "login/?next=" in response["Location"], (method, url)
    assert RecomputeRun.objects.count() == 1


def test_cs_admin_gets_in(client_for, cs_admin, admin_urls):
    client = client_for(cs_admin)
    for url in admin_urls["get"]:
        assert client.get(url).status_code == 200, url


def test_staff_without_the_admin_role_cannot_use_the_operations(client_for, admin_urls):
    staff = UserFactory(username="intern", is_staff=True)
    client = client_for(staff)
    for url in (
        reverse("admin-config"),
        reverse("admin-config-download"),
        reverse("admin:configuration_auditentry_changelist"),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("admin:pipeline_recomputerun_start")).status_code == 403
    busy = RecomputeRun.objects.create(as_of=D, status="running")
    assert client.post(reverse("admin:pipeline_recomputerun_cancel", args=[busy.pk])).status_code == 403
    assert RecomputeRun.objects.get(pk=busy.pk).status == "running"
