# CS Portal: gunicorn serving the Django app; the same image runs the Celery worker and beat
# (docker-compose.yml). Settings come from the environment, see .env.example.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# gcc and libpq-dev build psycopg2; curl serves the health check.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 csportal
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=csportal:csportal . .
# Bytecode compiled once here (PYTHONDONTWRITEBYTECODE keeps processes from writing it): every
# process start (web, worker, beat, manage.py) skips compiling ~150 modules, about 0.4 s each time.
RUN python -m compileall -q -x '/(tests|benchmarks|\.venv)/' /app
# MEDIA_ROOT: admin uploads waiting for their import task (a volume in docker-compose.yml).
RUN mkdir -p /app/media && chown csportal:csportal /app/media
USER csportal
# Static files are collected (hashed and compressed by WhiteNoise) at build time; the key is a placeholder.
RUN DEBUG=false SECRET_KEY=collectstatic-at-build-time-only python manage.py collectstatic --noinput
EXPOSE 8000
# cs_portal/wsgi.py gives web requests WEB_STATEMENT_TIMEOUT_MS (25 s), under this 30 s timeout.
CMD ["gunicorn", "cs_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30", "--access-logfile", "-"]
