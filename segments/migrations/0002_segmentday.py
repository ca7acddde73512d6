"""SegmentDay moves here from dashboards: the model joins this app's state over the existing table,
which is then renamed to segments_segmentday (its rows, indexes and constraints kept)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0001_initial"),
        ("dashboards", "0004_segmentday_moves_to_segments"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SegmentDay",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("members", models.PositiveIntegerField(default=0)),
                        ("arr", models.DecimalField(decimal_places=2, default=0, max_digits=16, verbose_name="ARR")),
                        (
                            "segment",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="days", to="segments.segment"
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["segment", "day"],
                        "indexes": [models.Index(fields=["day"], name="segment_day_day_idx")],
                        "constraints": [models.UniqueConstraint(fields=("segment", "day"), name="uniq_segment_day")],
                        "db_table": "dashboards_segmentday",
                    },
                ),
            ]
        ),
        migrations.AlterModelTable(name="segmentday", table=None),
    ]
