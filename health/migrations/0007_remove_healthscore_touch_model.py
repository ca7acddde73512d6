"""Touch models live in segments.TouchModelDay now (segments 0003 copied them there)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("health", "0006_published_day_not_started"),
        ("segments", "0003_touchmodelday"),
    ]

    operations = [
        migrations.RemoveField(model_name="healthscore", name="touch_model"),
    ]
