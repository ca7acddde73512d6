"""Touch models get their own per-day table, filled from HealthScore.touch_model (which health
0007 then drops): every day's touch models are kept."""

import django.db.models.deletion
from django.db import migrations, models


def touch_models_copy(apps, schema_editor):
    touch = apps.get_model("segments", "TouchModelDay")._meta.db_table
    health = apps.get_model("health", "HealthScore")._meta.db_table
    schema_editor.execute(
        f"INSERT INTO {touch} (account_id, day, touch_model) "
        f"SELECT account_id, as_of, touch_model FROM {health} WHERE touch_model <> ''"
    )


def touch_models_back(apps, schema_editor):
    HealthScore = apps.get_model("health", "HealthScore")
    for row in apps.get_model("segments", "TouchModelDay").objects.iterator(chunk_size=5000):
        HealthScore.objects.filter(account_id=row.account_id, as_of=row.day).update(touch_model=row.touch_model)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_indexes_for_dashboards"),
        ("segments", "0002_segmentday"),
        ("health", "0006_published_day_not_started"),
    ]

    operations = [
        migrations.CreateModel(
            name="TouchModelDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("touch_model", models.CharField(choices=[("high", "High-touch"), ("mid", "Mid-touch"), ("self_service", "Self-service")], max_length=16)),
                ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="touch_model_days", to="accounts.account")),
            ],
            options={
                "ordering": ["day", "account"],
                "constraints": [models.UniqueConstraint(fields=("day", "account"), name="uniq_touch_model_day")],
            },
        ),
        migrations.RunPython(touch_models_copy, touch_models_back),
    ]
