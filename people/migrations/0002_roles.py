"""Creates the three team roles as groups, with their model permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

DOMAIN_APPS = ("accounts", "health", "segments", "journeys")
# Leaders and CSMs read everything; CSMs also record what customers say (stated drivers).
CSM_EXTRA = ("accounts.add_stateddriver",)


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    domain = Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS)
    view = domain.filter(codename__startswith="view_")
    csm_extra = [
        Permission.objects.get(content_type__app_label=p.split(".")[0], codename=p.split(".")[1])
        for p in CSM_EXTRA
    ]

    csm, _ = Group.objects.get_or_create(name="CSM")
    csm.permissions.set([*view, *csm_extra])
    leader, _ = Group.objects.get_or_create(name="CS Leader")
    leader.permissions.set(view)
    admin, _ = Group.objects.get_or_create(name="CS Admin")
    beat = Permission.objects.filter(content_type__app_label="django_celery_beat")
    users = Permission.objects.filter(content_type__app_label__in=("people", "auth"))
    admin.permissions.set([*domain, *beat, *users])


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["CSM", "CS Leader", "CS Admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("accounts", "0002_initial"),
        ("health", "0001_initial"),
        ("segments", "0001_initial"),
        ("journeys", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
