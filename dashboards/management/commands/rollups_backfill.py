from django.core.management.base import CommandError

from core.cli import DataCommand, date_option
from dashboards.services import rollups_backfill


class Command(DataCommand):
    help = (
        "Write the daily rollups the pages read (VerticalDay, RevenueDay, SegmentDay) for every day with "
        "results that lacks them (or --from/--to, or one --day); --force rewrites them. The same writers "
        "as the nightly publish; running it twice changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="first date, YYYY-MM-DD (default: the oldest results)")
        parser.add_argument("--to", dest="end", help="last date, YYYY-MM-DD (default: the latest results)")
        parser.add_argument("--day", help="one date, YYYY-MM-DD (instead of --from/--to)")
        parser.add_argument("--force", action="store_true", help="rewrite the rollups of days that have them")

    def handle(self, *args, start=None, end=None, day=None, force=False, **options):
        first, last, one = date_option("--from", start), date_option("--to", end), date_option("--day", day)
        if one and (first or last):
            raise CommandError("--day: give either --day or --from/--to, not both")
        if one:
            first = last = one
        if first and last and first > last:
            raise CommandError("--from must not be after --to")
        done = rollups_backfill(start=first, end=last, force=force)
        if not done.days:
            self.stdout.write("no results to roll up")
            return
        self.stdout.write(
            f"{done.days} days with results: wrote vertical rollups for {len(done.vertical_days)}, "
            f"revenue figures for {len(done.revenue_days)}, segment figures for {len(done.segment_days)}"
            + ("" if force else " (days that had them left alone; --force rewrites them)")
        )
