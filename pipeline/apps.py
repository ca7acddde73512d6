from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PipelineConfig(AppConfig):
    name = "pipeline"

    def ready(self):
        # Imported here: models and services need the app registry ready.

        from accounts.freshness import accounts_dirtied  # noqa: PLC0415 - see above
        from pipeline.schedule import install_beat_schedule  # noqa: PLC0415 - see above

        post_migrate.connect(install_beat_schedule, sender=self)
        accounts_dirtied.connect(_dirtied, dispatch_uid="pipeline.freshness.schedule")


def _dirtied(sender, **kwargs):
    """A write that marked accounts dirty has committed: make sure an incremental run is scheduled."""
    from pipeline.freshness import incremental_schedule  # noqa: PLC0415 - imported once the apps are ready

    incremental_schedule()
