"""`import_nps` (SPEC §4.2): NPS answers, one per account and day (a re-import replaces it)."""

from typing import BinaryIO

from django.db import transaction

from accounts.freshness import Reason, dirty_accounts_mark
from accounts.imports.common import (
    CsvSource,
    ImportFailed,
    ImportResult,
    Progress,
    RowChecks,
    chunked,
    file_size,
    parse_date,
    parse_int,
    parse_required,
    shown,
)
from accounts.models import Account, NpsResponse

REQUIRED = ("account_external_id", "date", "score")
OPTIONAL = ("comment",)


def import_nps(fileobj: BinaryIO, *, skip_invalid: bool = False, progress: Progress | None = None) -> ImportResult:
    """Upserts NPS responses on (account, date); all-or-nothing unless `skip_invalid`."""
    progress = progress or Progress(file_size(fileobj), enabled=False)
    source = CsvSource(fileobj, required=REQUIRED, optional=OPTIONAL)
    accounts = dict(Account.objects.values_list("external_id", "pk"))
    result = ImportResult()
    rows: dict[tuple, NpsResponse] = {}
    i_comment = source.index.get("comment")
    for line, cells in source.rows():
        checks = RowChecks()
        external_id = checks.cell(parse_required, cells[source.index["account_external_id"]], "account_external_id")
        if external_id is not None and external_id not in accounts:
            checks.problem("account_external_id", f"unknown account '{shown(external_id)}'")
        day = checks.cell(parse_date, cells[source.index["date"]], "date", required=True)
        score = checks.cell(parse_int, cells[source.index["score"]], "score", required=True, high=10)
        if checks.report(line, result):
            continue
        comment = cells[i_comment].strip() if i_comment is not None else ""
        # The last answer of an account on a day wins, as a re-import would.
        rows[(accounts[external_id], day)] = NpsResponse(
            account_id=accounts[external_id], date=day, score=score, comment=comment
        )
        progress.update(len(rows), source.bytes_read())
    if result.error_count and not skip_invalid:
        return result
    if not rows and not result.error_count:
        raise ImportFailed("the file has a header row but no data rows")
    with transaction.atomic():
        keys = list(rows)
        existing = {}
        for part in chunked(sorted({a for a, _ in keys})):
            for account_id, day, score, comment in NpsResponse.objects.filter(account_id__in=part).values_list(
                "account_id", "date", "score", "comment"
            ):
                existing[(account_id, day)] = (score, comment)
        NpsResponse.objects.bulk_create(
            rows.values(),
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["account", "date"],
            update_fields=["score", "comment"],
        )
        dirty_accounts_mark(ids={a for a, _ in keys}, reason=Reason.NPS)
    result.unchanged = sum(1 for key, row in rows.items() if existing.get(key) == (row.score, row.comment))
    result.updated = sum(1 for key in keys if key in existing) - result.unchanged
    result.created = len(keys) - result.updated - result.unchanged
    result.skipped = result.error_rows
    result.written = True
    return result
