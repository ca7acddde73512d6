"""The results tables (AccountMetrics, HealthScore) drop their per-row foreign-key triggers, checked
set-based when a day is published instead (health.models.RESULTS_FK), and the account_id indexes
the (account, as_of) unique indexes already cover. Rows are kept as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_dirty_accounts'),
        ('health', '0009_freshness_columns'),
        ('journeys', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='accountmetrics',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='metrics', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='accountmetrics',
            name='journey_stage',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='journeys.stage'),
        ),
        migrations.AlterField(
            model_name='healthscore',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='health_scores', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='healthscore',
            name='scorecard',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='health.scorecard'),
        ),
        migrations.AlterField(
            model_name='healthscore',
            name='tier',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.tier'),
        ),
    ]
