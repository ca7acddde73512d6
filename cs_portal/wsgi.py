"""The WSGI application gunicorn serves (and only the web server imports).

Web requests, and only they, run under WEB_STATEMENT_TIMEOUT_MS (core.db.add_statement_timeout):
Celery workers and management commands never import this module.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_portal.settings")

application = get_wsgi_application()


def _web_database_settings() -> None:
    from django.conf import settings  # noqa: PLC0415 - after get_wsgi_application configured Django

    from core.db import add_statement_timeout  # noqa: PLC0415 - idem

    for database in settings.DATABASES.values():
        add_statement_timeout(database, settings.WEB_STATEMENT_TIMEOUT_MS)


_web_database_settings()
