from django.core.management.base import BaseCommand, CommandError

from core.cli import date_option
from dashboards.services import vertical_days_backfill


class Command(BaseCommand):
    help = "Rebuild the per-vertical daily rollup (VerticalDay) from the HealthScore history."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="first date, YYYY-MM-DD (default: the oldest score)")
        parser.add_argument("--to", dest="end", help="last date, YYYY-MM-DD (default: the latest score)")

    def handle(self, *args, start=None, end=None, **options):
        first, last = date_option("--from", start), date_option("--to", end)
        if first and last and first > last:
            raise CommandError("--from must not be after --to")
        rows = vertical_days_backfill(start=first, end=last)
        self.stdout.write(f"wrote {rows} vertical-day rows")
