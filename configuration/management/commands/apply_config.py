import json
import sys

from django.core.management.base import CommandError

from configuration.services import ConfigInvalid, config_apply
from core.cli import DataCommand


def _no_duplicate_keys(pairs: list[tuple]) -> dict:
    """JSON allows repeated keys and keeps the last: here a repeated key is a typo to report."""
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key '{key}' appears twice in one object")
        seen[key] = value
    return seen


class Command(DataCommand):
    help = (
        "Apply a configuration document (SPEC §4.4): verticals, use cases, features, tiers, scorecards, "
        "segments, journeys. Invalid documents change nothing; every error names its JSON path."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
        parser.add_argument("--prune", action="store_true", help="delete objects the document does not mention")

    def handle(self, *args, file, dry_run, prune, **options):
        name = "stdin" if file == "-" else file
        try:
            if file == "-":
                text = sys.stdin.read()
            else:
                with open(file, encoding="utf-8") as fh:
                    text = fh.read()
        except OSError as exc:
            raise CommandError(f"{name}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{name}: not UTF-8 text") from None
        try:
            document = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        except ValueError as exc:  # a repeated key, from the hook
            raise CommandError(f"{name}: {exc}") from None
        except RecursionError:
            raise CommandError(f"{name}: JSON nested too deeply") from None
        try:
            report = config_apply(document=document, dry_run=dry_run, prune=prune)
        except ConfigInvalid as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(f"{len(exc.errors)} error(s) in {name}: nothing was changed") from None
        for line in report.lines():
            self.stdout.write(line)
        if dry_run:
            self.stdout.write("dry run: nothing was changed")
