"""Settings for the test suite: the production settings with DEBUG on and fast hashing.

The database still comes from DATABASE_URL: `make test` runs on PostgreSQL.
"""

import os

os.environ.setdefault("DEBUG", "true")

from cs_portal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# WhiteNoise's manifest storage breaks live_server tests; plain storage serves from finders.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = True  # tests that need a real worker start one and override this
# Throttle counters must not leak between tests (or between runs) through a shared Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
