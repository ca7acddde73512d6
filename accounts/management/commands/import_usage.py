from accounts.imports import import_usage
from accounts.management.commands._import_base import ImportCommand


class Command(ImportCommand):
    help = "Import daily usage rows from a CSV (SPEC §4.2). All-or-nothing unless --skip-invalid."
    service = staticmethod(import_usage)
    what = "usage rows"
