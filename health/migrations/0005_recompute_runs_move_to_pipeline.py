"""RecomputeRun and RecomputeChunk now belong to the pipeline app (pipeline 0001 took them over in
the migration state): forget them here without touching their tables."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("health", "0004_risk_precomputed"),
        ("pipeline", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="RecomputeChunk"),
                migrations.DeleteModel(name="RecomputeRun"),
            ],
            database_operations=[],
        ),
    ]
