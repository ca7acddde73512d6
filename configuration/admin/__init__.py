"""The rule admins (scorecards, segments, journeys) and the audit log.

`base` holds what they share (document validation of inlines, history, revert); importing the
modules here registers them when Django's admin autodiscovers this app."""

from configuration.admin import base, journeys, plays, scorecards, segments  # noqa: F401
