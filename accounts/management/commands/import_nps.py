from accounts.imports import import_nps
from accounts.management.commands._import_base import ImportCommand


class Command(ImportCommand):
    help = "Import NPS responses from a CSV (SPEC §4.2). All-or-nothing unless --skip-invalid."
    service = staticmethod(import_nps)
    what = "NPS responses"
