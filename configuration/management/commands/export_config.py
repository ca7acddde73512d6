import json

from configuration.services import config_export
from core.cli import DataCommand


class Command(DataCommand):
    help = "Print the whole configuration as the JSON document apply_config accepts."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", help="write to this file instead of standard output")

    def handle(self, *args, output=None, **options):
        text = json.dumps(config_export(), indent=2, ensure_ascii=False) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
            self.stdout.write(f"configuration written to {output}")
        else:
            self.stdout.write(text, ending="")
