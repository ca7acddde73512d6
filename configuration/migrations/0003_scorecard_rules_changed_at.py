"""Fills Scorecard.rules_changed_at from the change history already recorded (its latest entry)."""

from django.db import migrations
from django.db.models import Max


def fill(apps, schema_editor):
    AuditEntry = apps.get_model("configuration", "AuditEntry")
    Scorecard = apps.get_model("health", "Scorecard")
    latest = AuditEntry.objects.filter(kind="scorecards", object_id__isnull=False).values("object_id").annotate(
        last=Max("created_at")
    )
    for row in latest.order_by():
        Scorecard.objects.filter(pk=row["object_id"]).update(rules_changed_at=row["last"])


class Migration(migrations.Migration):
    dependencies = [
        ("configuration", "0002_admin_reads_history"),
        ("health", "0008_scorecard_rules_changed_at"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
