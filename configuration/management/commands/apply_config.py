import json
import sys

from django.core.management.base import BaseCommand, CommandError

from configuration.services import ConfigInvalid, config_apply


class Command(BaseCommand):
    help = "Apply a configuration document (SPEC §4.4): verticals, use cases, features, tiers, scorecards, segments, journeys."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
        parser.add_argument("--prune", action="store_true", help="delete objects the document does not mention")

    def handle(self, *args, file, dry_run, prune, **options):
        try:
            if file == "-":
                document = json.load(sys.stdin)
            else:
                with open(file, encoding="utf-8") as fh:
                    document = json.load(fh)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{file}: not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        try:
            report = config_apply(document=document, dry_run=dry_run, prune=prune)
        except ConfigInvalid as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(exc.errors)} error(s): nothing was changed") from None
        for line in report.lines():
            self.stdout.write(line)
        if dry_run:
            self.stdout.write("dry run: nothing was changed")
