"""CS Portal settings, read from the environment (django-environ).

Embedded default (no DATABASE_URL / REDIS_URL): SQLite file database and Celery tasks run eagerly
in-process. With DATABASE_URL and REDIS_URL set: PostgreSQL and a Redis broker with real workers.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    TIME_ZONE=(str, "UTC"),
    REDIS_URL=(str, ""),
    CSRF_TRUSTED_ORIGINS=(list, []),
    SECURE_SSL_REDIRECT=(bool, True),
    RECOMPUTE_CHUNK_SIZE=(int, 5000),
    FRESHNESS_ENABLED=(bool, True),
    FRESHNESS_DEBOUNCE_SECONDS=(int, 30),
    RECOMPUTE_STALL_SECONDS=(int, 300),
    RECOMPUTE_JOBS=(int, 2),
    RECOMPUTE_TEST_CHUNK_SLEEP=(float, 0.0),
    CELERY_VISIBILITY_TIMEOUT=(int, 15 * 60),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
# With DEBUG on (the demo), 404 and 500 still render the app's pages unless DEBUG_ERROR_PAGES asks for
# Django's technical pages (tracebacks) — a demo visitor should see what a customer would.
DEBUG_ERROR_PAGES = env.bool("DEBUG_ERROR_PAGES", default=False)
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-only-for-DEBUG-mode")
else:
    # A missing production secret fails loudly rather than running with a known key.
    SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",
    "core",
    "people",
    "accounts",
    "health",
    "segments",
    "journeys",
    "plays",
    "configuration",
    "dashboards",
    "demo",
    "pipeline",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.api.limits.ApiBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cs_portal.middleware.AppErrorPagesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "people.middleware.RoleRequiredMiddleware",
    "cs_portal.middleware.AdminForStaffMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cs_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "people.context_processors.role_flags",
            ],
        },
    },
]

WSGI_APPLICATION = "cs_portal.wsgi.application"

SQLITE_PATH = env("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A reused connection is checked before a request uses it: after a PostgreSQL restart each worker
# reconnects instead of serving one 500 on its dead connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    # The dashboards' covering indexes (INCLUDE columns) are a PostgreSQL speed-up; on the embedded
    # demo database SQLite builds them without the extra columns, which is fine at demo size.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles any query the planner costs above 100,000 (most dashboard queries at
    # 100,000 accounts): 100+ ms of compiling to save a few ms of executing. Pages want it off.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # Names this process's connections in pg_stat_activity (an operator, or the fault tests, can
    # tell the web's, the workers' and their own sessions apart).
    DATABASES["default"]["OPTIONS"].setdefault(
        "application_name", env("DATABASE_APPLICATION_NAME", default="cs-portal")
    )
# Web requests only (applied in cs_portal/wsgi.py, so workers and commands have none): under
# gunicorn's 30 s timeout, so a query stops when the request is given up. 0 turns it off.
WEB_STATEMENT_TIMEOUT_MS = env.int("WEB_STATEMENT_TIMEOUT_MS", default=25_000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username, or from
# one client address, that username / address is locked out for AXES_COOLOFF_MINUTES, on /login/
# and the admin's login alike. Attempts are rows in PostgreSQL (the database handler), so lockouts
# hold while Redis is down. A CS Admin lifts one early with `manage.py axes_reset_username NAME`
# (or axes_reset_ip, or the "Access attempts" admin).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per user, and per address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "people.lockout.client_ip"
# Behind N reverse proxies that append to X-Forwarded-For, the client is the Nth address from the
# right; 0 (the default) reads REMOTE_ADDR, which a client cannot forge.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE")
USE_I18N = True
USE_TZ = True
# One date format on every page (cs_portal/formats/en/formats.py): ISO, as in the CSVs and the API.
FORMAT_MODULE_PATH = ["cs_portal.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
# WhiteNoise serves the static files, gzip- and Brotli-compressed by collectstatic, with far-future
# `Cache-Control: max-age=315360000, public, immutable` for the hashed names of the manifest
# storage (the others get WHITENOISE_MAX_AGE). `make demo` runs collectstatic and
# `runserver --nostatic` with the manifest storage and no finders, so the demo serves plotly.min.js
# (4.8 MB) as ~1.4 MB of gzip exactly as production does.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
WHITENOISE_AUTOREFRESH = env.bool("WHITENOISE_AUTOREFRESH", default=DEBUG)
WHITENOISE_MAX_AGE = env.int("WHITENOISE_MAX_AGE", default=0 if DEBUG else 60 * 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "people.api_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["people.api_auth.IsTeamMember"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["people.api_auth.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env("API_THROTTLE_RATE", default="600/min")},
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# Usage ingestion takes up to 50,000 rows a request (~5 MB of JSON, ~2.5 MB of CSV; 50,000 accounts
# ~10 MB). A bigger API body is refused with 413 before it is read (core.api.limits).
API_MAX_BODY_SIZE = env.int("API_MAX_BODY_SIZE", default=16 * 1024 * 1024)
# The admin import page: bigger uploads are refused before they are read. The file waits in
# MEDIA_ROOT (a volume shared by web and workers) until the import task has read it.
IMPORT_UPLOAD_MAX_SIZE = env.int("IMPORT_UPLOAD_MAX_SIZE", default=256 * 1024 * 1024)
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=API_MAX_BODY_SIZE)

SPECTACULAR_SETTINGS = {
    "TITLE": "CS Portal API",
    "DESCRIPTION": 'Accounts, health, segments, rules and usage ingestion. Errors: {"errors": [{"path", "message"}]}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are for the team: a session or a token of a user with a role.
    "SERVE_PERMISSIONS": ["people.api_auth.IsTeamMember"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"TaskStatusEnum": "plays.models.Task.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
    ],
}

# Content-Security-Policy (django-csp): scripts only from our own static files — no inline script
# and no eval anywhere (Plotly, HTMX and Swagger UI are served locally; the Swagger page's own
# script comes from SpectacularSwaggerSplitView). Styles allow 'unsafe-inline': Plotly and Swagger
# UI set style attributes from script, HTMX adds its indicator <style>, and the templates carry a
# few style="" attributes; a style cannot run code. Charts' images and Swagger's icons are data: URLs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# The cache holds API throttling counters: shared across processes when Redis is configured. It
# fails open (core.cache): with Redis down the API answers unthrottled, and logs it, rather than 500.
# Short socket timeouts keep an unreachable Redis from holding a request for long.
CACHES = {
    "default": {
        "BACKEND": "core.cache.FailOpenRedisCache",
        "LOCATION": env("REDIS_URL"),
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    if env("REDIS_URL")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Celery: eager in-process without a broker (the zero-setup demo), Redis workers otherwise.
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SOFT_TIME_LIMIT = 60 * 60
CELERY_TASK_TIME_LIMIT = 60 * 60 + 300
# A task is acknowledged when it has finished, not when a worker takes it, and a task whose worker
# process died (SIGKILL, out of memory) goes back to the queue at once: a killed worker's chunk is
# done again, not lost (chunks and publish are idempotent: pipeline.services). A worker killed as a
# whole leaves its tasks unacknowledged: Redis hands them out again after the visibility timeout,
# which is longer than any task's hard time limit except the admin import's (whose second delivery
# does nothing: the job is claimed once) and than any countdown a task retries with.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env("CELERY_VISIBILITY_TIMEOUT"),
    # An unreachable broker fails a publish in seconds ("Recompute now" answers 503), not after a hang.
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
# The result backend (Redis) retries a lost connection 20 times a second apart by default: a 19 s hang.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5},
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_SOCKET_TIMEOUT = 5
# A worker that loses the broker keeps retrying to reconnect (a Redis restart is survived).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The one place the beat schedule is declared; django-celery-beat copies it into the database
# where admins can edit it.
CELERY_BEAT_SCHEDULE = {
    "nightly-recompute": {
        "task": "pipeline.tasks.nightly_recompute",
        "schedule": crontab(hour=2, minute=0),
        "options": {"expires": 6 * 60 * 60},
    },
    # Fails (and frees the lock of) a recompute making no progress for RECOMPUTE_STALL_SECONDS.
    "recompute-watchdog": {
        "task": "pipeline.tasks.recompute_watchdog_task",
        "schedule": crontab(minute="*"),
        "options": {"expires": 60},
    },
    "plays-daily-digest": {
        "task": "plays.tasks.daily_digest",
        "schedule": crontab(hour=7, minute=0),
        "options": {"expires": 6 * 60 * 60},
    },
    "plays-deliveries-sweep": {
        "task": "plays.tasks.deliveries_sweep",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 30 * 60},
    },
}
RECOMPUTE_CHUNK_SIZE = env("RECOMPUTE_CHUNK_SIZE")
# A recompute run in one process (the command, eager Celery) computes this many chunks at a time,
# each on its own database connection: about the database server's cores. 1: one after another.
RECOMPUTE_JOBS = env("RECOMPUTE_JOBS")
# Fresh between nights (SPEC §4.5): writes mark their accounts dirty and, this many seconds after the
# first mark of a burst, one incremental run re-scores them (pipeline.freshness). Off: marks are not
# recorded and results change only with full runs.
FRESHNESS_ENABLED = env("FRESHNESS_ENABLED")
FRESHNESS_DEBOUNCE_SECONDS = env("FRESHNESS_DEBOUNCE_SECONDS")
# A run holding the recompute lock with no progress (no chunk stored, no publish under way) for this
# long is failed and its lock released by the watchdog (pipeline.services.recompute_watchdog).
RECOMPUTE_STALL_SECONDS = env("RECOMPUTE_STALL_SECONDS")
# Tests only (the fault-injection suite): seconds each chunk waits before it commits, so a fault
# lands mid-run. 0 in production.
RECOMPUTE_TEST_CHUNK_SLEEP = env("RECOMPUTE_TEST_CHUNK_SLEEP")

# Email (plays: task notifications and the daily digest). EMAIL_URL, e.g.
# smtp+tls://user:password@smtp.example.com:587; without it messages go to the console (demo).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="CS Portal <cs-portal@localhost>")
# Links in messages and webhooks point here.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# Webhooks: seconds to wait for an answer; retries wait PLAYS_RETRY_BACKOFF × 2ⁿ seconds.
PLAYS_WEBHOOK_TIMEOUT = env.float("PLAYS_WEBHOOK_TIMEOUT", default=10.0)
PLAYS_RETRY_BACKOFF = env.float("PLAYS_RETRY_BACKOFF", default=2.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # `preload` only on request, and only with the max-age the preload list accepts (one year).
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if SECURE_HSTS_PRELOAD and SECURE_HSTS_SECONDS < 31536000:
        raise ImproperlyConfigured("SECURE_HSTS_PRELOAD needs SECURE_HSTS_SECONDS of at least 31536000 (one year)")
    if not SECURE_HSTS_PRELOAD:
        # Preload is a deliberate opt-in (a site on the list cannot easily leave it): not a warning.
        SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True
