"""Every day with results gets its rollups (VerticalDay, RevenueDay, SegmentDay), so readers have
one read path: the rollup. Rows of an older shape (VerticalDay written before `stuck`, or before
use cases carried their accounts and ARR) are rewritten in the current one.

As NetBox fills its counter caches in the migration that adds them, with the one function its
rebuild command runs: this calls dashboards.services.rollups_backfill, the code behind
`manage.py rollups_backfill`, rather than a frozen copy of the rollup SQL — a second
implementation of every figure is what this step removes. The writers read only columns that exist
from this migration on; should a later migration change a model they write, mark this one
elidable in a squash (it is already: a fresh database has nothing to backfill). Idempotent: a
re-run writes nothing. Reversing it leaves the rows (they are what publish would have written).
"""

from django.db import migrations


def backfill(apps, schema_editor):
    # The live writers, not historical models: one implementation of each rollup (see above).
    from dashboards.services import rollups_backfill  # noqa: PLC0415

    if schema_editor.connection.alias == "default":  # the writers use the default connection
        rollups_backfill()


class Migration(migrations.Migration):
    # After every schema change the live writers depend on (the usage key, published days, touch
    # models, the scorecard's rules_changed_at): they query the current models.
    dependencies = [
        ("accounts", "0005_usage_natural_primary_key"),
        ("dashboards", "0004_segmentday_moves_to_segments"),
        ("health", "0008_scorecard_rules_changed_at"),
        ("journeys", "0001_initial"),
        ("segments", "0003_touchmodelday"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
