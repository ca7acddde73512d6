"""The recompute's runs and chunks move from health to pipeline: state only here (the tables and
their rows stay where they are, health_recomputerun / health_recomputechunk); 0002 renames them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("health", "0004_risk_precomputed"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RecomputeRun",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("as_of", models.DateField()),
                        ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed"), ("refused", "Refused (another run was in progress)")], default="queued", max_length=10)),
                        ("trigger", models.CharField(default="manual", max_length=20)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("accounts_scored", models.PositiveIntegerField(default=0)),
                        ("chunks_total", models.PositiveIntegerField(default=0)),
                        ("chunks_done", models.PositiveIntegerField(default=0)),
                        ("error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("active_lock", models.BooleanField(default=True, editable=False, null=True, unique=True)),
                    ],
                    options={"ordering": ["-created_at"], "db_table": "health_recomputerun"},
                ),
                migrations.CreateModel(
                    name="RecomputeChunk",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("first_account_id", models.BigIntegerField()),
                        ("last_account_id", models.BigIntegerField()),
                        ("rows", models.JSONField(default=list)),
                        ("finished_at", models.DateTimeField(auto_now_add=True)),
                        ("run", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="chunks", to="pipeline.recomputerun")),
                    ],
                    options={"db_table": "health_recomputechunk"},
                ),
            ],
            database_operations=[],
        ),
    ]
