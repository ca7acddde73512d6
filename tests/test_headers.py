"""Issue 15 §9: the Content-Security-Policy header, HSTS preload only with a one-year max-age, and
the OpenAPI schema and docs behind login."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def test_pages_send_a_strict_script_policy(client_for, csm):
    response = client_for(csm).get("/accounts/")
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip())
    assert policy["script-src"] == "'self'"  # no inline script, no eval
    assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'self'"
    assert "Content-Security-Policy" in client_for(None).get("/login/")


def test_templates_have_no_inline_script():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for chunk in text.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(str(path.relative_to(ROOT)))
        if " onclick=" in text or " onchange=" in text or " onload=" in text or "javascript:" in text:
            offenders.append(f"{path.relative_to(ROOT)} (event handler attribute)")
    assert not offenders, offenders


def test_schema_and_docs_are_behind_login(client_for, csm, no_role):
    anonymous = client_for(None)
    assert anonymous.get("/api/schema/").status_code == 401
    docs = anonymous.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/")
    assert client_for(no_role).get("/api/schema/").status_code == 403
    member = client_for(csm)
    assert member.get("/api/schema/").status_code == 200
    page = member.get("/api/docs/")
    assert page.status_code == 200 and b"<script>" not in page.content  # the split view: scripts are files
    script = member.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def _settings_with(**env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_SETTINGS_MODULE")}
    environ.update({"DEBUG": "false", "SECRET_KEY": "x" * 50, **env})
    code = "import cs_portal.settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD)"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, check=False
    )


def test_hsts_preload_only_with_a_year():
    assert _settings_with().stdout.split() == ["2592000", "False"]  # the default: no preload
    assert _settings_with(SECURE_HSTS_PRELOAD="true", SECURE_HSTS_SECONDS="31536000").stdout.split() == [
        "31536000",
        "True",
    ]
    refused = _settings_with(SECURE_HSTS_PRELOAD="true", SECURE_HSTS_SECONDS="2592000")
    assert refused.returncode != 0 and "SECURE_HSTS_PRELOAD needs SECURE_HSTS_SECONDS" in refused.stderr
