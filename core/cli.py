"""Helpers shared by the management commands."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError


class DataCommand(BaseCommand):
    """A command that imports, computes or exports the product's data (not one that sets the site up).

    Django runs every system check (models, URLs, views, templates, the admin) before a command
    unless told otherwise: on this code base about 0.5 s of importing and checking the whole site,
    paid by every nightly recompute and every import. Those checks guard the configuration, which
    a data command does not change: `migrate` runs them at each deploy and start (docker-compose,
    `make demo`), and CI runs `manage.py check --deploy`."""

    requires_system_checks = []


def date_option(option: str, value: str | None) -> date | None:
    """The date an option names (YYYY-MM-DD), None when not given; a bad value names the option."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise CommandError(f"{option}: '{value}' is not a date in YYYY-MM-DD form") from None
