"""Upgrading a database from the schema before the pipeline app: runs and chunks keep their rows
in their renamed tables, touch models move to segments.TouchModelDay, every day with results
becomes a PublishedDay, and the beat schedule's rows point at the moved task."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("health", "0004_risk_precomputed"),
    ("segments", "0002_segmentday"),
    ("pipeline", None),
]
D = dt.date(2026, 6, 30)


def migrate(targets):
    """Migrates to `targets` (unapplying what depends on them); returns the models as of the
    migrations then applied."""
    MigrationExecutor(connection).migrate(targets)
    executor = MigrationExecutor(connection)  # a fresh one reads what is applied now
    return executor._create_project_state(with_applied_migrations=True).apps


@pytest.mark.django_db(transaction=True)
def test_upgrade_from_the_schema_before_the_pipeline_keeps_the_data():
    old = migrate(BEFORE)
    assert "pipeline_recomputerun" not in connection.introspection.table_names()
    Vertical, Account = old.get_model("accounts", "Vertical"), old.get_model("accounts", "Account")
    HealthScore, RecomputeRun = old.get_model("health", "HealthScore"), old.get_model("health", "RecomputeRun")
    RecomputeChunk = old.get_model("health", "RecomputeChunk")
    vertical = Vertical.objects.create(name="Education")
    a = Account.objects.create(external_id="A", name="A", vertical=vertical, arr=1000)
    b = Account.objects.create(external_id="B", name="B", vertical=vertical, arr=2000)
    HealthScore.objects.create(account=a, as_of=D, score=80, band="healthy", touch_model="high")
    HealthScore.objects.create(account=b, as_of=D, score=30, band="at_risk", touch_model="")
    HealthScore.objects.create(account=a, as_of=D - dt.timedelta(days=1), score=70, band="healthy", touch_model="mid")
    run = RecomputeRun.objects.create(
        as_of=D, status="succeeded", accounts_scored=2, chunks_total=1, chunks_done=1, active_lock=None
    )
    RecomputeChunk.objects.create(run=run, first_account_id=a.pk, last_account_id=b.pk, rows=[[a.pk]])
    PeriodicTask = old.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name="nightly-recompute").update(task="health.tasks.nightly_recompute")
    ContentType = old.get_model("contenttypes", "ContentType")
    run_type = ContentType.objects.get_or_create(app_label="health", model="recomputerun")[0]

    executor = MigrationExecutor(connection)
    new = migrate(executor.loader.graph.leaf_nodes())

    Run = new.get_model("pipeline", "RecomputeRun")
    assert list(Run.objects.values_list("pk", "as_of", "status", "accounts_scored")) == [(run.pk, D, "succeeded", 2)]
    assert new.get_model("pipeline", "RecomputeChunk").objects.get().run_id == run.pk
    tables = connection.introspection.table_names()
    assert {"pipeline_recomputerun", "pipeline_recomputechunk", "pipeline_stagedresult"} <= set(tables)
    assert "health_recomputerun" not in tables
    touch = new.get_model("segments", "TouchModelDay").objects.values_list("account_id", "day", "touch_model")
    assert sorted(touch) == sorted([(a.pk, D, "high"), (a.pk, D - dt.timedelta(days=1), "mid")])
    days = new.get_model("health", "PublishedDay").objects.values_list("day", flat=True)
    assert sorted(days) == [D - dt.timedelta(days=1), D]
    scores = new.get_model("health", "HealthScore").objects.filter(as_of=D).values_list("account_id", "score", "band")
    assert sorted(scores) == sorted([(a.pk, 80, "healthy"), (b.pk, 30, "at_risk")])
    beat = new.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="nightly-recompute")
    assert [t.task for t in beat] in ([], ["pipeline.tasks.nightly_recompute"])
    # The admin permissions of runs (and the roles granted them) follow the model.
    assert new.get_model("contenttypes", "ContentType").objects.get(pk=run_type.pk).app_label == "pipeline"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = 'pipeline_stagedresult'")
            assert cursor.fetchone()[0] == "u"  # UNLOGGED


@pytest.mark.django_db(transaction=True)
def test_a_beat_row_with_the_old_task_name_is_renamed():
    old = migrate(BEFORE)
    PeriodicTask = old.get_model("django_celery_beat", "PeriodicTask")
    CrontabSchedule = old.get_model("django_celery_beat", "CrontabSchedule")
    crontab = CrontabSchedule.objects.create(minute="0", hour="2")
    PeriodicTask.objects.create(name="edited-nightly", task="health.tasks.nightly_recompute", crontab=crontab)
    executor = MigrationExecutor(connection)
    new = migrate(executor.loader.graph.leaf_nodes())
    task = new.get_model("django_celery_beat", "PeriodicTask").objects.get(name="edited-nightly")
    assert task.task == "pipeline.tasks.nightly_recompute"
