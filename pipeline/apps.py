from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self):
        from django.db.models.signals import post_migrate

        from pipeline.schedule import install_beat_schedule

        post_migrate.connect(install_beat_schedule, sender=self)
