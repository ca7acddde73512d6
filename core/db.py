"""Database settings that depend on the process: the web server's statement timeout."""

POSTGRESQL = "django.db.backends.postgresql"


def add_statement_timeout(database: dict, milliseconds: int) -> None:
    """Adds `-c statement_timeout` to a PostgreSQL database's connection options (in place).

    Called by cs_portal/wsgi.py only, before the first connection: web requests get a timeout
    (a query left running after gunicorn killed its worker ran on for 33 s, issue 15), while Celery
    workers and management commands — imports, the nightly recompute — keep none. 0 turns it off.
    """
    if database.get("ENGINE") != POSTGRESQL or milliseconds <= 0:
        return
    options = database.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c statement_timeout={int(milliseconds)}".strip()
