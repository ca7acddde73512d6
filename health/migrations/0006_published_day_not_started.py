"""PublishedDay (the days whose results are complete) and the `not_started` band.

Every day that already has HealthScore rows was published by a recompute that wrote its rollups
in the same transaction, so each becomes a PublishedDay: an upgraded database keeps showing its
latest results."""

from django.db import migrations, models
from django.utils import timezone


def published_days_fill(apps, schema_editor):
    HealthScore = apps.get_model("health", "HealthScore")
    PublishedDay = apps.get_model("health", "PublishedDay")
    now = timezone.now()
    days = HealthScore.objects.order_by("as_of").values_list("as_of", flat=True).distinct()
    PublishedDay.objects.bulk_create([PublishedDay(day=d, published_at=now) for d in days], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("health", "0005_recompute_runs_move_to_pipeline"),
    ]

    operations = [
        migrations.CreateModel(
            name="PublishedDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(unique=True)),
                ("run_id", models.BigIntegerField(blank=True, null=True)),
                ("published_at", models.DateTimeField()),
            ],
            options={"ordering": ["-day"]},
        ),
        migrations.AlterField(
            model_name="healthscore",
            name="band",
            field=models.CharField(choices=[("healthy", "Healthy"), ("neutral", "Neutral"), ("at_risk", "At risk"), ("unknown", "Unknown"), ("churned", "Churned"), ("not_started", "Not started")], default="unknown", max_length=12),
        ),
        migrations.RunPython(published_days_fill, migrations.RunPython.noop),
    ]
