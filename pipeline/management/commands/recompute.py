from datetime import date, timedelta

from django.core.management.base import CommandError
from django.utils import timezone

from core.cli import DataCommand
from pipeline.services import RecomputeRefused, recompute, recompute_date_check

# With --history: every day of the last month (what "since 7 / 30 days ago", band drops and
# slipping scores compare against), one day a week before that (enough for year-long trends).
DAILY_DAYS = 31


def history_dates(end: date, days: int) -> list[date]:
    """The dates `--history DAYS` recomputes, oldest first, ending with `end`."""
    dates = {end - timedelta(days=n) for n in range(min(days, DAILY_DAYS) + 1)}
    dates |= {end - timedelta(days=n) for n in range(0, days + 1, 7)}
    return sorted(dates)


class Command(DataCommand):
    help = "Recompute metrics, journeys, health scores, segments and touch models for a date (default today)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in TIME_ZONE)")
        parser.add_argument("--chunk-size", type=int, help="accounts per chunk (default RECOMPUTE_CHUNK_SIZE)")
        parser.add_argument(
            "--history",
            type=int,
            metavar="DAYS",
            help="also recompute the DAYS before --as-of, oldest first: daily for the last month, weekly before "
            "(fills trends after an import of past usage; segment history moves forward through them)",
        )

    def handle(self, *args, as_of=None, chunk_size=None, history=None, **options):
        day = timezone.localdate()
        if as_of is not None:
            try:
                day = recompute_date_check(as_of)
            except ValueError as exc:
                raise CommandError(f"--as-of: {exc}") from None
        if history is not None and not 0 <= history <= 3660:
            raise CommandError(f"--history: {history} is not a number of days between 0 and 3660")
        days = history_dates(day, history) if history else [day]
        for n, when in enumerate(days, start=1):
            try:
                run = recompute(as_of=when, trigger="command", chunk_size=chunk_size)
            except RecomputeRefused as exc:
                raise CommandError(str(exc)) from None
            if when == day:
                self._summary(when, run)
            elif self.stdout.isatty():
                self.stdout.write(f"\rhistory: {n}/{len(days)} dates recomputed ({when})", ending="")
        if len(days) > 1:
            self.stdout.write(f"history: {len(days) - 1} earlier dates recomputed, {days[0]} to {days[-2]}")

    def _summary(self, day, run):
        bands = ", ".join(f"{n} {band}" for band, n in sorted(run.bands.items()))
        seg = run.segments or {}
        self.stdout.write(
            f"recomputed {day}: {sum(run.bands.values())} accounts, {run.accounts_scored} scored ({bands or 'none'}); "
            f"{seg.get('segments', 0)} segments, {seg.get('entered', 0)} entered, {seg.get('left', 0)} left; "
            f"{run.wall_seconds:.1f}s"
        )
