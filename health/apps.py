from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"

    def ready(self):
        from django.db.models.signals import post_migrate

        from health.schedule import install_beat_schedule

        post_migrate.connect(install_beat_schedule, sender=self)
