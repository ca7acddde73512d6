"""SegmentMembership and TouchModelDay drop their per-row foreign-key triggers (checked set-based on
publish, health.models.RESULTS_FK) and the membership indexes the (segment|account, left_on) ones
already cover. Rows are kept as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_dirty_accounts'),
        ('segments', '0003_touchmodelday'),
    ]

    operations = [
        migrations.AlterField(
            model_name='segmentmembership',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='segment_memberships', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='segmentmembership',
            name='segment',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='segments.segment'),
        ),
        migrations.AlterField(
            model_name='touchmodelday',
            name='account',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='touch_model_days', to='accounts.account'),
        ),
    ]
