from core.cli import DataCommand, date_option
from health.models import HealthScore
from health.selectors import results_day
from health.services import health_scores_mark_slipping


class Command(DataCommand):
    help = (
        "Fill the risk list's precomputed columns (HealthScore.score_30d_ago and slipping) for a day, "
        "as the recompute's publish step does: for scores loaded or changed outside a recompute."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="day", help="the day, YYYY-MM-DD (default: the latest results)")

    def handle(self, *args, day=None, **options):
        day = date_option("--date", day) or results_day()
        if day is None:
            self.stdout.write("no results yet: nothing to fill")
            return
        rows = health_scores_mark_slipping(day=day)
        slipping = HealthScore.objects.filter(as_of=day, slipping=True).count()
        self.stdout.write(f"{day}: marked {rows} results, {slipping} slipping")
