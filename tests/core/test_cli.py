"""core.cli: what the data commands share."""

import io

import pytest
from django.apps import apps
from django.core import checks
from django.core.management import get_commands, load_command_class
from django.core.management.base import SystemCheckError

from core.cli import DataCommand

# Commands that set the site up rather than move its data: they keep Django's system checks.
SETUP_COMMANDS = {"seed_demo"}


def product_apps() -> set[str]:
    """The project's own apps (Django's and the libraries' live in site-packages)."""
    return {c.name for c in apps.get_app_configs() if "site-packages" not in c.path}


@pytest.fixture
def failing_check():
    """A system check that fails, registered for the test only."""

    def broken(app_configs=None, **kwargs):
        return [checks.Error("a broken setting", id="tests.E001")]

    checks.register(broken)
    yield
    checks.registry.registry.registered_checks.discard(broken)


def test_every_data_command_of_the_product_skips_the_system_checks():
    commands = {name: app for name, app in get_commands().items() if app in product_apps()}
    assert {"recompute", "import_usage", "export_accounts", "rollups_backfill"} <= set(commands)
    for name, app in commands.items():
        command = load_command_class(app, name)
        assert isinstance(command, DataCommand) is (name not in SETUP_COMMANDS), name


def from_the_command_line(name: str, *argv: str, stdout=None) -> None:
    """Runs a command as manage.py does (its parser's defaults: checks not skipped), minus
    run_from_argv's closing of every database connection, which would end the test's transaction."""
    command = load_command_class(get_commands()[name], name)
    options = vars(command.create_parser("manage.py", name).parse_args(list(argv)))
    command.execute(stdout=stdout, **{k: v for k, v in options.items() if k != "args"})


@pytest.mark.django_db
def test_a_data_command_runs_without_the_system_checks(failing_check):
    # The check does fail a command that keeps the checks, before its handle() runs (nothing is seeded).
    with pytest.raises(SystemCheckError, match="a broken setting"):
        from_the_command_line("seed_demo", "--if-empty")
    out = io.StringIO()
    from_the_command_line("export_config", stdout=out)
    assert '"version"' in out.getvalue()
