from datetime import date

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from configuration.services import ConfigInvalid
from demo.generator import DemoDataExists, demo_seed


class Command(BaseCommand):
    help = (
        "Load deterministic demo data: five verticals, a year of usage, NPS, ARR history, the demo team and "
        "the starter config. Refuses when accounts exist, unless --reset (replace them) or --if-empty (skip)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=300, help="number of accounts (default 300)")
        parser.add_argument("--seed", type=int, default=42, help="random seed: the same seed gives the same data")
        parser.add_argument("--today", help="date the year of usage ends (YYYY-MM-DD, default today)")
        parser.add_argument("--reset", action="store_true", help="delete existing accounts and their data first")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when accounts already exist")

    def handle(self, *args, accounts, seed, today, reset, if_empty, **options):
        if accounts < 1:
            raise CommandError("--accounts must be at least 1")
        try:
            anchor = date.fromisoformat(today) if today else None
        except ValueError:
            raise CommandError(f"--today: '{today}' is not a date in YYYY-MM-DD form") from None
        if if_empty and not reset and (existing := Account.objects.count()):
            self.stdout.write(f"demo data already loaded ({existing} accounts): nothing to do")
            return
        try:
            counts = demo_seed(accounts=accounts, seed=seed, today=anchor, reset=reset)
        except DemoDataExists as exc:
            raise CommandError(str(exc)) from None
        except ConfigInvalid as exc:  # the starter config no longer matches the rules' grammar
            raise CommandError("the demo configuration is invalid:\n" + "\n".join(exc.errors)) from None
        self.stdout.write("seeded " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        self.stdout.write("logins (password 'demo'): csm (CSM), leader (CS Leader), admin (CS Admin)")
