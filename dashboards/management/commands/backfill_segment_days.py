from django.core.management.base import BaseCommand

from core.cli import date_option
from dashboards.services import segment_days_backfill


class Command(BaseCommand):
    help = (
        "Write the segments' members and ARR of a day (SegmentDay) for the latest results date, or --day, "
        "when they are missing (e.g. results loaded before SegmentDay existed); --force rewrites them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", help="the date, YYYY-MM-DD (default: the latest date with results)")
        parser.add_argument("--force", action="store_true", help="rewrite the rows even when they exist")

    def handle(self, *args, day=None, force=False, **options):
        written = segment_days_backfill(day=date_option("--day", day), force=force)
        if written is None:
            self.stdout.write("no results to write segment figures for")
        elif written:
            self.stdout.write(f"wrote the segment figures of {written}")
        else:
            self.stdout.write("segment figures already stored; nothing written (--force rewrites them)")
