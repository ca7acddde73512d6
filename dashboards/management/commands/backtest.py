"""`manage.py backtest`: is each scorecard's score predictive of churn? (SPEC §8)."""

import json

from django.core.management.base import CommandError

from core.cli import DataCommand
from dashboards.backtest import backtest, history_notes
from dashboards.backtest_forms import BacktestForm

BAND_TITLES = {"healthy": "healthy", "neutral": "neutral", "at_risk": "at risk"}


class Command(DataCommand):
    help = "Backtest the health scores against churn: churn rate by band, AUC and lift per scorecard and vertical."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from", dest="date_from", metavar="YYYY-MM-DD", help="first observation date (default: the first)"
        )
        parser.add_argument(
            "--to", dest="date_to", metavar="YYYY-MM-DD", help="last observation date (default: the last)"
        )
        parser.add_argument(
            "--horizon", default="90", help="days after each observation in which a churn counts (default 90)"
        )
        parser.add_argument(
            "--step", default="30", help="at least this many days between observation dates (default 30)"
        )
        parser.add_argument("--compare", metavar="NAME", help="also re-score every observation with scorecard NAME")
        parser.add_argument("--json", action="store_true", help="print the report as JSON (SPEC §8's shape)")

    def handle(self, *args, date_from=None, date_to=None, horizon="90", step="30", compare=None, **options):
        form = BacktestForm(
            {"from": date_from or "", "to": date_to or "", "horizon": horizon, "step": step, "compare": compare or ""}
        )
        if not form.is_valid():
            raise CommandError("; ".join(f"--{e['path']}: {e['message']}" for e in form.error_list()))
        report = backtest(form.params())
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self._table(report)

    def _table(self, report: dict) -> None:
        write = self.stdout.write
        if not report["observation_dates"]:
            write(report["error"])
            return
        dates = report["observation_dates"]
        plural = "" if len(dates) == 1 else "s"
        write(
            f"Backtest: {len(dates)} observation date{plural} ({dates[0]} … {dates[-1]}), churn within {report['horizon_days']} days"
        )
        if report.get("error"):
            write(report["error"])
        header = f"{'':28} {'band':9} {'observations':>12} {'churned':>8} {'rate':>7} {'ARR':>14} {'ARR churned':>14}"
        rows = [(s["scorecard"], s) for s in report["scorecards"]]
        rows += [(f"vertical {v['vertical']}", v) for v in report["verticals"]]
        rows.append(("all scorecards", report["overall"]))
        for title, figures in rows:
            write("")
            write(f"{title[:28]:28} AUC {_fmt(figures['auc'])}   lift {_fmt(figures['lift'])}")
            write(header)
            for band, cell in figures["bands"].items():
                write(
                    f"{'':28} {BAND_TITLES[band]:9} {cell['observations']:>12} {cell['churned']:>8} {_fmt(cell['churn_rate']):>7} "
                    f"{cell['arr']:>14,.2f} {cell['arr_churned']:>14,.2f}"
                )
        if report["compare"]:
            write("")
            write(f"One size for everyone: every observation re-scored with '{report['compare']['scorecard']}'")
            write(f"{'vertical':28} {'own AUC':>8} {'compared':>9}")
            for row in report["compare"]["by_vertical"]:
                write(f"{row['vertical'][:28]:28} {_fmt(row['own_auc']):>8} {_fmt(row['compare_auc']):>9}")
        for note in history_notes(report):
            write("")
            write(note)


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.4f}"
