"""API body limits (issue 15, point 6): 413 before an oversized body is read, chunked bodies capped
while read, CSV bodies streamed and stopped at the row limit, echoed values cut."""

import json

import pytest
from django.test import Client, override_settings

from accounts.models import UsageDaily
from people.models import ApiToken
from people.services import api_token_create
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
MB = 1 << 20
HEADER = b"account_external_id,date,feature,events,active_users\n"


class LazyBody:
    """A request body of `size` bytes made on demand, counting what the server reads."""

    def __init__(self, size: int, head: bytes = b"", line: bytes = b"A1,2026-06-01,x,1,1\n"):
        self.size, self.pending, self.line, self.read_bytes = size, head, line, 0

    def read(self, n: int = -1) -> bytes:
        left = self.size - self.read_bytes
        n = left if n is None or n < 0 else min(n, left)
        out = bytearray()
        while len(out) < n:
            self.pending = self.pending or self.line * 1000
            take = self.pending[: n - len(out)]
            self.pending = self.pending[len(take) :]
            out += take
        self.read_bytes += n
        return bytes(out)

    def readline(self, n: int = -1) -> bytes:
        return self.read(n if n and n > 0 else 65536)


@pytest.fixture
def token(csm):
    AccountFactory(external_id="A1")
    return api_token_create(user=csm, name="pipeline", scope=ApiToken.SCOPE_INGEST)[1]


def post(token, body, content_type="text/csv", **extra):
    if isinstance(body, bytes):
        return Client().post(
            "/api/v1/usage/", body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}", **extra
        )
    return Client().generic(
        "POST",
        "/api/v1/usage/",
        b"",
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **{"wsgi.input": body, "CONTENT_TYPE": content_type, **extra},
    )


def test_a_200_mb_body_is_refused_before_it_is_read(token):
    body = LazyBody(200 * MB, HEADER)
    response = post(token, body, CONTENT_LENGTH=str(200 * MB))
    assert response.status_code == 413
    [error] = response.json()["errors"]
    assert error["path"] == "" and "larger than 16,777,216 bytes (16 MB)" in error["message"]
    assert body.read_bytes == 0


def test_a_chunked_body_stops_being_read_past_the_cap(token):
    body = LazyBody(200 * MB, HEADER)
    response = post(token, body, CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 413 and "larger than" in response.json()["errors"][0]["message"]
    assert body.read_bytes <= 16 * MB + 64 * 1024


def test_a_small_chunked_body_is_imported(token):
    data = HEADER + b"A1,2026-06-01,x,1,1\n"
    response = post(token, LazyBody(len(data), data), CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 201 and response.json() == {"created": 1, "updated": 0, "unchanged": 0}


@override_settings(API_MAX_BODY_SIZE=1000)
def test_the_cap_is_a_setting_and_applies_to_json(token):
    rows = [{"account_external_id": "A1", "date": "2026-06-01", "feature": "x", "events": 1}] * 30
    response = post(token, json.dumps(rows).encode(), content_type="application/json")
    assert response.status_code == 413 and "larger than 1,000 bytes" in response.json()["errors"][0]["message"]
    assert not UsageDaily.objects.exists()


def test_a_csv_body_over_50000_rows_stops_being_read_at_the_limit(token):
    body = LazyBody(15 * MB, HEADER)  # ~790,000 rows, under the byte cap
    response = post(token, body, CONTENT_LENGTH=str(15 * MB))
    assert response.status_code == 400
    assert response.json() == {"errors": [{"path": "", "message": "at most 50,000 rows a request"}]}
    assert body.read_bytes < 2 * MB


def test_values_echoed_in_api_errors_are_cut(token):
    long = "Z" * 100_000
    rows = [{"account_external_id": long, "date": "2026-06-01", "feature": "x", "events": 1}]
    response = post(token, json.dumps(rows).encode(), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "[0].account_external_id", "message": f"unknown account '{'Z' * 80}…'"}
    ]
    response = post(token, json.dumps([{long: 1}]).encode(), content_type="application/json")
    assert response.json()["errors"][0]["path"] == f"[0].{'Z' * 80}…"
    assert len(response.content) < 1000


def test_a_2_mb_cell_in_a_csv_body_is_refused_naming_line_and_column(token):
    body = HEADER + b"A1,2026-06-01,ok,1,1\nA1,2026-06-01," + b"f" * (2 * MB) + b",1,1\n"
    response = post(token, body)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "line 3.feature", "message": "value longer than 1,048,576 characters: shorten it"}
    ]
    assert len(response.content) < 1000
