"""Batch ingestion over the API: the same services and validation as the CSV imports.

A JSON list of rows (or a text/csv body) becomes a CSV in memory and goes through
`import_usage` / `import_nps` / `import_accounts`; a bad row's "line N: column: reason" becomes
{"path": "[i].column", "message": reason} (i = the row's index in the JSON list).
"""

import csv
import io
import re
import tempfile

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.imports import ImportFailed, import_accounts, import_nps, import_usage
from accounts.imports import accounts as account_import
from accounts.imports import nps as nps_import
from accounts.imports import usage as usage_import
from core.api.errors import error_response
from core.text import shown
from people.api_auth import CanIngest, IsAdminOrReadOnly

MAX_ROWS = 50_000
LINE = re.compile(r"^line (\d+): ([^:]+): (.*)$")


SPOOL_IN_MEMORY = 1 << 20
READ_CHUNK = 64 * 1024


class CsvParser(BaseParser):
    """A text/csv body, streamed to a temporary file (in memory up to 1 MB) for the import to read.

    Stops reading, with the 50,000-row error, as soon as the body holds more lines than that."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - read by the import
        lines = 0
        while stream is not None and (chunk := stream.read(READ_CHUNK)):
            lines += chunk.count(b"\n")
            if lines > MAX_ROWS + 1:
                spooled.close()
                raise exceptions.ParseError(f"at most {MAX_ROWS:,} rows a request")
            spooled.write(chunk)
        spooled.seek(0)
        return spooled


def _csv_file(rows: list, columns: tuple[str, ...]):
    """JSON rows as a CSV file for the import (a temporary file past 1 MB)."""
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - read by the import
    text = io.TextIOWrapper(spooled, encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    text.flush()
    text.detach()
    spooled.seek(0)
    return spooled


def _shape_errors(data, columns: tuple[str, ...], optional: tuple[str, ...]) -> list[dict]:
    if not isinstance(data, list):
        return [{"path": "", "message": "expected a JSON list of rows (or a text/csv body)"}]
    if not data:
        return [{"path": "", "message": "no rows: send at least one"}]
    if len(data) > MAX_ROWS:
        return [{"path": "", "message": f"{len(data):,} rows: at most {MAX_ROWS:,} a request"}]
    errors = []
    allowed = set(columns) | set(optional)
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            errors.append({"path": f"[{i}]", "message": "expected an object"})
            continue
        for key in sorted(set(row) - allowed):
            errors.append({"path": f"[{i}].{shown(key)}", "message": f"unknown field (expected {', '.join(columns)})"})
        for key, value in row.items():
            if isinstance(value, dict | list | bool):
                errors.append({"path": f"[{i}].{shown(key)}", "message": "expected text, a number or null"})
    return errors[:50]


def import_payload(data, service, columns, optional=(), *, single: bool = False, **kwargs) -> Response:
    """One request, one all-or-nothing import: 201 with counts, or 400 naming every bad row.

    `data`: a JSON list of rows, or a CSV body (a file from CsvParser, or text). With `single`, error
    paths drop the "[0]." prefix."""
    is_csv = isinstance(data, bytes | str) or hasattr(data, "read")
    if isinstance(data, bytes | str):
        body = data if isinstance(data, bytes) else data.encode()
        if body.count(b"\n") > MAX_ROWS + 1:
            return error_response([{"path": "", "message": f"at most {MAX_ROWS:,} rows a request"}])
        fileobj = io.BytesIO(body)
    elif is_csv:
        fileobj = data
    else:
        errors = _shape_errors(data, columns, optional)
        if errors:
            return error_response(errors)
        fileobj = _csv_file(data, columns + optional)
    try:
        with fileobj:
            result = service(fileobj, skip_invalid=False, **kwargs)
    except ImportFailed as exc:
        return error_response([{"path": "", "message": str(exc)}])
    if result.error_count:
        errors = []
        for line in result.error_lines():
            match = LINE.match(line)
            if match is None:
                errors.append({"path": "", "message": line})
                continue
            number, column, reason = int(match[1]), match[2], match[3]
            path = f"line {number}.{column}" if is_csv else column if single else f"[{number - 2}].{column}"
            errors.append({"path": path, "message": reason})
        return error_response(errors)
    return Response(
        {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
        status=status.HTTP_201_CREATED,
    )


RESULT = inline_serializer(
    "ImportResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
    },
)


class UsageIngestView(APIView):
    """Batch ingestion of daily usage rows (up to 50,000 a request), all or nothing."""

    permission_classes = [CanIngest]
    parser_classes = [JSONParser, CsvParser]

    @extend_schema(
        request=inline_serializer(
            "UsageRow",
            {
                "account_external_id": serializers.CharField(),
                "date": serializers.DateField(),
                "feature": serializers.CharField(),
                "events": serializers.IntegerField(min_value=0),
                "active_users": serializers.IntegerField(min_value=0, required=False),
            },
            many=True,
        ),
        responses={201: RESULT},
        examples=[
            OpenApiExample(
                "rows",
                value=[
                    {
                        "account_external_id": "A1",
                        "date": "2026-11-01",
                        "feature": "scheduling",
                        "events": 3,
                        "active_users": 2,
                    }
                ],
            )
        ],
    )
    def post(self, request):
        return import_payload(request.data, import_usage, usage_import.REQUIRED)


class NpsIngestView(APIView):
    """Batch ingestion of NPS responses, all or nothing."""

    permission_classes = [CanIngest]
    parser_classes = [JSONParser, CsvParser]

    @extend_schema(
        request=inline_serializer(
            "NpsRow",
            {
                "account_external_id": serializers.CharField(),
                "date": serializers.DateField(),
                "score": serializers.IntegerField(min_value=0, max_value=10),
                "comment": serializers.CharField(required=False),
            },
            many=True,
        ),
        responses={201: RESULT},
    )
    def post(self, request):
        return import_payload(request.data, import_nps, nps_import.REQUIRED, nps_import.OPTIONAL)


class AccountBulkUpsertView(APIView):
    """Create or update accounts by external_id, with the validation of import_accounts."""

    permission_classes = [IsAdminOrReadOnly]
    parser_classes = [JSONParser, CsvParser]

    @extend_schema(
        request=inline_serializer(
            "AccountRow",
            {
                c: serializers.CharField(required=c in ("external_id", "name", "vertical"))
                for c in account_import.REQUIRED + account_import.OPTIONAL
            },
            many=True,
        ),
        responses={201: RESULT},
    )
    def post(self, request):
        # Keys a JSON row leaves out become empty cells, as in a CSV.
        return import_payload(request.data, import_accounts, account_import.REQUIRED, account_import.OPTIONAL)


ACCOUNT_FIELDS = account_import.REQUIRED + account_import.OPTIONAL


def account_row(account) -> dict:
    """An account as a row of the accounts CSV contract (the primary use case first)."""
    use_cases = sorted(u.name for u in account.use_cases.all())
    if account.primary_use_case:
        use_cases = [account.primary_use_case.name, *[u for u in use_cases if u != account.primary_use_case.name]]
    return {
        "external_id": account.external_id,
        "name": account.name,
        "vertical": account.vertical.name,
        "use_cases": ";".join(use_cases),
        "arr": str(account.arr),
        "owner_email": account.owner.email if account.owner else "",
        "employees": account.employees,
        "persona": account.persona,
        "seats": account.seats,
        "start_date": account.start_date,
        "renewal_date": account.renewal_date,
        "churned_on": account.churned_on,
    }


def account_write(data, account=None) -> Response:
    """Create one account, or update `account` with the fields given; validated as import_accounts."""
    if not isinstance(data, dict):
        return error_response([{"path": "", "message": "expected a JSON object"}])
    if account is not None:
        if "external_id" in data and data["external_id"] != account.external_id:
            return error_response([{"path": "external_id", "message": "external_id can't be changed"}])
        data = {**account_row(account), **data}
    response = import_payload([data], import_accounts, account_import.REQUIRED, account_import.OPTIONAL, single=True)
    if response.status_code != status.HTTP_201_CREATED:
        for error in response.data["errors"]:
            error["path"] = error["path"].removeprefix("[0].").removeprefix("[0]")
    return response
