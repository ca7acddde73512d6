"""The account export of SPEC §4.6: one CSV row per account as of a date, sorted by external_id."""

from collections.abc import Iterable, Iterator
from datetime import date

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from accounts.models import Account
from core import csv
from health.models import AccountMetrics, HealthScore
from segments.models import TouchModelDay
from segments.selectors import memberships_on

COLUMNS = [
    "external_id",
    "name",
    "vertical",
    "primary_use_case",
    "arr",
    "tier",
    "health_score",
    "health_band",
    "scorecard",
    "segments",
    "touch_model",
    "journey_stage",
]
BATCH = 2000


def export_rows(accounts: QuerySet[Account], as_of: date) -> Iterator[list]:
    """Rows of the export, in batches (four queries per batch, none per account)."""
    accounts = accounts.order_by("external_id").values_list(
        "pk", "external_id", "name", "vertical__name", "primary_use_case__name", "arr"
    )
    batch: list = []
    for row in accounts.iterator(chunk_size=BATCH):
        batch.append(row)
        if len(batch) == BATCH:
            yield from _rows(batch, as_of)
            batch = []
    if batch:
        yield from _rows(batch, as_of)


def _rows(batch: list, as_of: date) -> Iterable[list]:
    ids = [r[0] for r in batch]
    health = {
        h[0]: h[1:]
        for h in HealthScore.objects.filter(as_of=as_of, account_id__in=ids).values_list(
            "account_id", "score", "band", "scorecard__name", "tier__name"
        )
    }
    touch = dict(TouchModelDay.objects.filter(day=as_of, account_id__in=ids).values_list("account_id", "touch_model"))
    stages = dict(
        AccountMetrics.objects.filter(as_of=as_of, account_id__in=ids).values_list("account_id", "journey_stage__name")
    )
    segments: dict[int, list[str]] = {}
    memberships = memberships_on(as_of).filter(account_id__in=ids)
    for account_id, name in memberships.values_list("account_id", "segment__name"):
        segments.setdefault(account_id, []).append(name)
    for pk, external_id, name, vertical, use_case, arr in batch:
        score, band, scorecard, tier = health.get(pk, (None, "", None, None))
        yield [
            external_id,
            name,
            vertical,
            use_case or "",
            f"{arr:.2f}",
            tier or "",
            "" if score is None else score,
            band,
            scorecard or "",
            ";".join(sorted(set(segments.get(pk, [])))),
            touch.get(pk, ""),
            stages.get(pk) or "",
        ]


def export_csv_lines(accounts: QuerySet[Account], as_of: date) -> Iterator[str]:
    """The CSV as lines of text, for files and streaming downloads alike."""
    return csv.lines(COLUMNS, export_rows(accounts, as_of))


def csv_download(lines, filename: str) -> StreamingHttpResponse:
    """A streamed CSV attachment (the account list's, a segment's, the risk list's)."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
