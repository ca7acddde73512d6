"""Puts the beat schedule of settings.CELERY_BEAT_SCHEDULE into django-celery-beat's tables after
migrating, so admins see and can edit the nightly recompute before beat has ever started."""

import json

from django.conf import settings


def install_beat_schedule(sender=None, **kwargs) -> None:
    from django_celery_beat.models import (  # noqa: PLC0415 - a post_migrate handler: the app registry is ready only then
        CrontabSchedule,
        PeriodicTask,
    )

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue  # an admin may have edited it: never overwrite
        schedule = entry["schedule"]
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=schedule._orig_minute,
            hour=schedule._orig_hour,
            day_of_week=schedule._orig_day_of_week,
            day_of_month=schedule._orig_day_of_month,
            month_of_year=schedule._orig_month_of_year,
            timezone=settings.TIME_ZONE,
        )
        expires = entry.get("options", {}).get("expires")
        PeriodicTask.objects.create(
            name=name,
            task=entry["task"],
            crontab=crontab,
            kwargs=json.dumps(entry.get("kwargs", {})),
            expire_seconds=expires,
            description="Recompute metrics, health, segments and journeys for all accounts.",
        )
