from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PeopleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "people"

    def ready(self):
        from people.services import role_groups_ensure  # noqa: PLC0415 - models load after apps.py is imported

        # After every migrate, and after the flushes of transactional tests: the role groups and
        # their permissions, including those of models added since the roles' data migration.
        post_migrate.connect(role_groups_ensure, dispatch_uid="people.role_groups_ensure")
