from datetime import date

from django.core.management.base import BaseCommand, CommandError

from dashboards.services import vertical_days_backfill


def _date(option: str, value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise CommandError(f"{option}: '{value}' is not a date in YYYY-MM-DD form") from None


class Command(BaseCommand):
    help = "Rebuild the per-vertical daily rollup (VerticalDay) from the HealthScore history."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="first date, YYYY-MM-DD (default: the oldest score)")
        parser.add_argument("--to", dest="end", help="last date, YYYY-MM-DD (default: the latest score)")

    def handle(self, *args, start=None, end=None, **options):
        first, last = _date("--from", start), _date("--to", end)
        if first and last and first > last:
            raise CommandError("--from must not be after --to")
        rows = vertical_days_backfill(start=first, end=last)
        self.stdout.write(f"wrote {rows} vertical-day rows")
