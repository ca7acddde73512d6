from django.core.management.base import BaseCommand

from core.cli import date_option
from dashboards.services import revenue_days_backfill


class Command(BaseCommand):
    help = (
        "Write the revenue page's stored figures (RevenueDay) for the latest results date, or --day, "
        "when they are missing (e.g. results loaded before RevenueDay existed); --force rewrites them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", help="the date, YYYY-MM-DD (default: the latest date with results)")
        parser.add_argument("--force", action="store_true", help="rewrite the row even when it exists")

    def handle(self, *args, day=None, force=False, **options):
        written = revenue_days_backfill(day=date_option("--day", day), force=force)
        if written is None:
            self.stdout.write("no results to write revenue figures for")
        elif written:
            self.stdout.write(f"wrote the revenue figures of {written}")
        else:
            self.stdout.write("revenue figures already stored; nothing written (--force rewrites them)")
