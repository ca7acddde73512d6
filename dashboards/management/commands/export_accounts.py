from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import Account
from core.cli import DataCommand
from dashboards.exports import export_csv_lines
from health.selectors import results_day
from segments.models import Segment
from segments.selectors import segment_accounts


class Command(DataCommand):
    help = "Export accounts with health, segments, touch model and journey stage as CSV (SPEC §4.6)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: the latest recomputed date)")
        parser.add_argument("--segment", help="only the members of this segment (by name) on that date")
        parser.add_argument("-o", "--output", help="write to this file instead of standard output")

    def handle(self, *args, as_of=None, segment=None, output=None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else (results_day() or timezone.localdate())
        except ValueError:
            raise CommandError(f"--as-of: '{as_of}' is not a date in YYYY-MM-DD form") from None
        accounts = Account.objects.all()
        if segment:
            found = Segment.objects.filter(name__iexact=segment).first()
            if found is None:
                names = ", ".join(Segment.objects.order_by("name").values_list("name", flat=True)) or "none"
                raise CommandError(f"--segment: no segment named '{segment}' (segments: {names})")
            accounts = segment_accounts(found, day)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                out.writelines(export_csv_lines(accounts, day))
            self.stderr.write(f"accounts as of {day} written to {output}")
            return
        try:
            for line in export_csv_lines(accounts, day):
                self.stdout.write(line, ending="")
        except BrokenPipeError:  # e.g. piped into `head`
            pass
