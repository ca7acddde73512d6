"""The pipeline's own tables: runs and chunks renamed (rows kept), chunks count their rows (the
results wait in the new staging table, UNLOGGED on PostgreSQL), the admin's permissions follow
the models to the new app, and the beat schedule's rows point at the tasks' new module."""

from django.db import migrations, models

OLD_TASK, NEW_TASK = "health.tasks.nightly_recompute", "pipeline.tasks.nightly_recompute"


def staging_unlogged(apps, schema_editor):
    # A crash loses staged rows, which only fails the run (nothing is published half): no WAL.
    if schema_editor.connection.vendor == "postgresql":
        table = apps.get_model("pipeline", "StagedResult")._meta.db_table
        schema_editor.execute(f"ALTER TABLE {table} SET UNLOGGED")


def content_types_follow(apps, schema_editor, old="health", new="pipeline"):
    """Permissions (and the roles granted them) stay attached to the moved models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("recomputerun", "recomputechunk"):
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_back(apps, schema_editor):
    content_types_follow(apps, schema_editor, old="pipeline", new="health")


def beat_rows_follow(apps, schema_editor, old=OLD_TASK, new=NEW_TASK):
    """Existing PeriodicTask rows (admins may have edited their schedule) run the renamed task."""
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=old).update(task=new)


def beat_rows_back(apps, schema_editor):
    beat_rows_follow(apps, schema_editor, old=NEW_TASK, new=OLD_TASK)


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0001_initial"),
        ("health", "0005_recompute_runs_move_to_pipeline"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterModelTable(name="recomputerun", table=None),
        migrations.AlterModelTable(name="recomputechunk", table=None),
        # The JSON lists of the old chunks were results in waiting; they now wait in StagedResult.
        migrations.RemoveField(model_name="recomputechunk", name="rows"),
        migrations.AddField(model_name="recomputechunk", name="rows", field=models.PositiveIntegerField(default=0)),
        migrations.CreateModel(
            name="StagedResult",
            fields=[
                ("pk", models.CompositePrimaryKey("run_id", "account_id", blank=True, editable=False, primary_key=True, serialize=False)),
                ("run_id", models.BigIntegerField()),
                ("account_id", models.BigIntegerField()),
                ("active_days_30d", models.IntegerField()),
                ("active_days_90d", models.IntegerField()),
                ("active_days_365d", models.IntegerField()),
                ("active_months_365d", models.IntegerField()),
                ("events_30d", models.BigIntegerField()),
                ("active_users_30d", models.IntegerField()),
                ("seat_utilization_30d", models.FloatField(null=True)),
                ("features_used_90d", models.IntegerField()),
                ("days_since_last_activity", models.IntegerField(null=True)),
                ("nps_latest", models.SmallIntegerField(null=True)),
                ("journey_progress", models.FloatField(null=True)),
                ("journey_stage_id", models.BigIntegerField(null=True)),
                ("score", models.SmallIntegerField(null=True)),
                ("band", models.CharField(choices=[("healthy", "Healthy"), ("neutral", "Neutral"), ("at_risk", "At risk"), ("unknown", "Unknown"), ("churned", "Churned"), ("not_started", "Not started")], max_length=12)),
                ("scorecard_id", models.BigIntegerField(null=True)),
                ("measures", models.JSONField(default=list)),
                ("tier_id", models.BigIntegerField(null=True)),
            ],
        ),
        migrations.RunPython(staging_unlogged, migrations.RunPython.noop),
        migrations.RunPython(content_types_follow, content_types_back),
        migrations.RunPython(beat_rows_follow, beat_rows_back),
    ]
