"""CS Admins read the change history (nobody edits it: entries are written by the services)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    app_config = apps.get_app_config("configuration")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="configuration", codename="view_auditentry")
    for group in Group.objects.filter(name="CS Admin"):
        group.permissions.add(*view)


class Migration(migrations.Migration):
    dependencies = [
        ("configuration", "0001_initial"),
        ("people", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
