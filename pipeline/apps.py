from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self):
        from pipeline.schedule import install_beat_schedule  # noqa: PLC0415 - it imports models, loaded after apps.py

        post_migrate.connect(install_beat_schedule, sender=self)
