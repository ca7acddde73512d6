from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from health.services import RecomputeRefused, recompute


class Command(BaseCommand):
    help = "Recompute metrics, journeys, health scores, segments and touch models for a date (default today)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in TIME_ZONE)")
        parser.add_argument("--chunk-size", type=int, help="accounts per chunk (default RECOMPUTE_CHUNK_SIZE)")

    def handle(self, *args, as_of=None, chunk_size=None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError:
            raise CommandError(f"--as-of: '{as_of}' is not a date in YYYY-MM-DD form") from None
        try:
            run = recompute(as_of=day, trigger="command", chunk_size=chunk_size)
        except RecomputeRefused as exc:
            raise CommandError(str(exc)) from None
        bands = ", ".join(f"{n} {band}" for band, n in sorted(run.bands.items()))
        seg = run.segments or {}
        self.stdout.write(
            f"recomputed {day}: {sum(run.bands.values())} accounts, {run.accounts_scored} scored ({bands or 'none'}); "
            f"{seg.get('segments', 0)} segments, {seg.get('entered', 0)} entered, {seg.get('left', 0)} left; "
            f"{run.wall_seconds:.1f}s"
        )
