"""Helpers shared by the management commands."""

from datetime import date

from django.core.management.base import CommandError


def date_option(option: str, value: str | None) -> date | None:
    """The date an option names (YYYY-MM-DD), None when not given; a bad value names the option."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise CommandError(f"{option}: '{value}' is not a date in YYYY-MM-DD form") from None
