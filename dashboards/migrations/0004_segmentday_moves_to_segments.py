"""SegmentDay belongs to the segments app now: the model leaves this app's state; the table stays
until segments.0002 takes it over (and renames it), so no row is lost."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dashboards", "0003_vertical_day_stuck"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="SegmentDay")]),
    ]
