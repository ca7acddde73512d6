"""What the three import commands share: open the file, run the service, report like SPEC §4.3."""

from datetime import date

from django.core.management.base import CommandError

from accounts.imports import ImportFailed
from accounts.imports.common import Progress, file_size
from core.cli import DataCommand


class ImportCommand(DataCommand):
    service = None  # the import function
    what = "rows"

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8, header row)")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows and report the invalid ones"
        )

    def service_kwargs(self, options) -> dict:
        return {}

    def handle(self, *args, **options):
        try:
            fileobj = open(options["file"], "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CommandError(f"{options['file']}: {exc.strerror}") from None
        with fileobj:
            progress = Progress(file_size(fileobj), stream=self.stderr._out)
            try:
                result = type(self).service(
                    fileobj, skip_invalid=options["skip_invalid"], progress=progress, **self.service_kwargs(options)
                )
            except ImportFailed as exc:
                raise CommandError(f"{options['file']}: {exc}") from None
        progress.stage("done")
        for line in result.error_lines():
            self.stderr.write(line)
        if result.error_count and not options["skip_invalid"]:
            raise CommandError(
                f"{result.error_rows} invalid row{'s' if result.error_rows != 1 else ''}: nothing written "
                "(fix them, or use --skip-invalid to import the valid rows)"
            )
        self.stdout.write(f"{self.what}: {result.summary()}")


def parse_as_of(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of: '{value}' is not a date in YYYY-MM-DD form") from None
