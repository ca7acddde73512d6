"""Fresh between nights through a real Celery worker on Redis: an API write commits, the debounced
incremental task is queued with its countdown, a worker runs it and publishes the account."""

import datetime as dt
import time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account, DirtyAccount
from configuration.services import config_apply
from cs_portal.celery import app as celery_app
from health.models import HealthScore, PublishedDay
from people.models import ApiToken
from people.services import api_token_create
from pipeline.models import RecomputeRun
from pipeline.services import recompute
from segments.models import TouchModelDay
from tests.factories import AccountFactory, FeatureFactory, usage
from tests.pipeline.test_tasks import ROOT, worker  # noqa: F401 - the worker fixture


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_debounced_incremental_run(worker, settings, monkeypatch, cs_admin):  # noqa: F811
    settings.FRESHNESS_DEBOUNCE_SECONDS = 2
    # The write path queues through the app's default producer pool: one an earlier test built (or
    # closed) would point at the wrong broker, so the app builds them again for the test broker.
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    today = timezone.localdate()
    feature = FeatureFactory(key="scheduling")
    accounts = [AccountFactory(external_id=f"A{i}") for i in range(4)]
    usage(accounts[0], feature, today - dt.timedelta(days=3))
    config_apply(
        document={
            "version": 1,
            "scorecards": [
                {"name": "Any", "measures": [{"metric": "active_days_30d", "weight": 1, "red": 0, "green": 5}]}
            ],
            "segments": [
                {"name": "Active", "touch_model": "mid", "rule": {"field": "active_days_30d", "op": "gte", "value": 3}}
            ],
        }
    )
    recompute(as_of=today)
    published = PublishedDay.objects.get(day=today)
    assert HealthScore.objects.get(account=accounts[1], as_of=today).score == 0

    token = api_token_create(user=cs_admin, name="pipeline", scope=ApiToken.SCOPE_INGEST)[1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    rows = [
        {"account_external_id": "A1", "date": str(today - dt.timedelta(days=d)), "feature": "scheduling", "events": 2}
        for d in range(4)
    ]
    posted = time.monotonic()
    assert api.post("/api/v1/usage/", rows, format="json").status_code == 201
    assert api.post("/api/v1/usage/", rows[:1], format="json").status_code == 201  # same burst
    run = RecomputeRun.objects.get(trigger="incremental")
    assert run.status == "scheduled"

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("succeeded", "failed"):
            break
        time.sleep(0.3)
    log = (ROOT / "tests" / ".worker.log").read_text()
    assert run.status == "succeeded", f"{run.status}: {run.error}\n{log[-3000:]}"
    assert time.monotonic() - posted >= 2  # the debounce was waited for
    assert "incremental_run_task" in log
    assert RecomputeRun.objects.filter(trigger="incremental").count() == 1
    score = HealthScore.objects.get(account=accounts[1], as_of=today)
    assert score.score == 80 and score.computed_at is not None
    assert TouchModelDay.objects.get(account=accounts[1], day=today).touch_model == "mid"
    assert not DirtyAccount.objects.exists()
    published.refresh_from_db()
    assert published.refreshed_at is not None
    assert Account.objects.count() == 4
