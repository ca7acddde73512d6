from accounts.imports import import_accounts
from accounts.management.commands._import_base import ImportCommand, parse_as_of


class Command(ImportCommand):
    help = "Import or update accounts from a CSV (SPEC §4.1). All-or-nothing unless --skip-invalid."
    service = staticmethod(import_accounts)
    what = "accounts"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--as-of", help="date for ARR history entries (YYYY-MM-DD, default today)")

    def service_kwargs(self, options):
        return {"as_of": parse_as_of(options.get("as_of"))}
