"""`import_accounts` (SPEC §4.1): upsert accounts by external_id, with use cases, owner, ARR history."""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.text import slugify

from accounts.freshness import Reason, dirty_accounts_mark
from accounts.imports.common import (
    CsvSource,
    ImportFailed,
    ImportResult,
    Progress,
    RowInvalid,
    chunked,
    file_size,
    parse_date,
    parse_decimal,
    parse_int,
    parse_required,
    shown,
)
from accounts.models import Account, AccountUseCase, ArrChange, Persona, UseCase, Vertical
from people import roles
from people.models import User

REQUIRED = (
    "external_id",
    "name",
    "vertical",
    "use_cases",
    "arr",
    "owner_email",
    "employees",
    "persona",
    "seats",
    "start_date",
    "renewal_date",
)
OPTIONAL = ("churned_on",)
PERSONAS = {p.value for p in Persona}
# What a re-imported row is compared on to be reported "unchanged" (ARR and the use cases too).
COMPARED = (
    "name",
    "vertical_id",
    "primary_use_case_id",
    "owner_id",
    "employees",
    "persona",
    "seats",
    "start_date",
    "renewal_date",
    "churned_on",
)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class AccountRow:
    line: int
    external_id: str
    name: str
    vertical: str
    use_cases: list[str]
    arr: Decimal
    owner_email: str
    employees: int | None
    persona: str
    seats: int | None
    start_date: date | None
    renewal_date: date | None
    churned_on: date | None


def _parse(line: int, cells: list[str], col: dict[str, int], has_churn: bool) -> AccountRow:
    """One row → AccountRow; every invalid cell is reported (RowsInvalid), not only the first."""
    errors: list[RowInvalid] = []

    def cell(column: str, parse, *args):
        try:
            return parse(cells[col[column]], column, *args)
        except RowInvalid as exc:
            errors.append(exc)
            return None

    def persona(value: str, column: str) -> str:
        value = value.strip().lower()
        if value and value not in PERSONAS:
            raise RowInvalid(column, f"'{shown(value)}' is not one of {', '.join(sorted(PERSONAS))} (or empty)")
        return value

    def email(value: str, column: str) -> str:
        value = value.strip().lower()
        if value and not EMAIL_RE.match(value):
            raise RowInvalid(column, f"'{shown(value)}' is not an email address")
        return value

    def name(value: str, column: str) -> str:
        value = parse_required(value, column)
        if len(value) > 255:
            raise RowInvalid(column, "longer than 255 characters")
        return value

    use_cases: list[str] = []
    for raw in cells[col["use_cases"]].split(";"):
        uc = " ".join(raw.split())
        if uc and uc.lower() not in {u.lower() for u in use_cases}:
            use_cases.append(uc)
    row = AccountRow(
        line=line,
        external_id=cell("external_id", parse_required),
        name=cell("name", name),
        vertical=" ".join((cell("vertical", parse_required) or "").split()),
        use_cases=use_cases,
        arr=cell("arr", parse_decimal),
        owner_email=cell("owner_email", email),
        employees=cell("employees", parse_int),
        persona=cell("persona", persona),
        seats=cell("seats", parse_int),
        start_date=cell("start_date", parse_date),
        renewal_date=cell("renewal_date", parse_date),
        churned_on=cell("churned_on", parse_date) if has_churn else None,
    )
    if errors:
        raise RowsInvalid(errors)
    return row


class RowsInvalid(Exception):
    def __init__(self, errors: list[RowInvalid]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def _by_name(model, names: set[str]) -> dict[str, object]:
    """Case-insensitive get-or-create by name; returns {lower name: object}."""
    found = {o.name.lower(): o for o in model.objects.all()}
    for name in sorted(names):
        if name.lower() not in found:
            slug = slugify(name)[:130] or "x"
            base, n = slug, 2
            while model.objects.filter(slug=slug).exists():
                slug, n = f"{base}-{n}", n + 1
            found[name.lower()] = model.objects.create(name=name, slug=slug)
    return found


def _owners(emails: set[str]) -> dict[str, User]:
    """Users by email (case-insensitive); a missing one is created as a CSM who can't log in yet."""
    found: dict[str, User] = {}
    for user in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=emails).order_by("pk"):
        found.setdefault(user.email_lower, user)
    csm_group, _ = Group.objects.get_or_create(name=roles.CSM)
    for email in sorted(emails - found.keys()):
        base = email.split("@")[0][:140] or "csm"
        username, n = base, 2
        while User.objects.filter(username=username).exists():
            username, n = f"{base}{n}", n + 1
        user = User(username=username, email=email)
        user.set_unusable_password()
        user.save()
        user.groups.add(csm_group)
        found[email] = user
    return found


def import_accounts(
    fileobj: BinaryIO, *, skip_invalid: bool = False, as_of: date | None = None, progress: Progress | None = None
) -> ImportResult:
    """Upserts accounts from a CSV; all-or-nothing unless `skip_invalid`.

    ARR changes (and a new account's first ARR) are recorded in ARR history dated `as_of` (today).
    Within one file a repeated external_id is an error naming both lines.
    """
    as_of = as_of or date.today()
    progress = progress or Progress(file_size(fileobj), enabled=False)
    source = CsvSource(fileobj, required=REQUIRED, optional=OPTIONAL)
    result = ImportResult()
    rows: dict[str, AccountRow] = {}
    for line, cells in source.rows():
        try:
            row = _parse(line, cells, source.index, "churned_on" in source.has)
        except RowsInvalid as exc:
            for error in exc.errors:
                result.add_error(line, error.column, error.reason)
            result.error_rows += 1
            continue
        if row.external_id in rows:
            result.add_error(
                line, "external_id", f"'{shown(row.external_id)}' already appears on line {rows[row.external_id].line}"
            )
            result.error_rows += 1
            continue
        rows[row.external_id] = row
        progress.update(len(rows), source.bytes_read())
    if result.error_count and not skip_invalid:
        return result
    result.skipped = result.error_rows
    if not rows and not result.error_count:
        raise ImportFailed("the file has a header row but no data rows")
    with transaction.atomic():
        _write(list(rows.values()), as_of, result)
    result.written = True
    return result


def _write(rows: list[AccountRow], as_of: date, result: ImportResult) -> None:
    verticals = _by_name(Vertical, {r.vertical for r in rows})
    use_cases = _by_name(UseCase, {u for r in rows for u in r.use_cases})
    owners = _owners({r.owner_email for r in rows if r.owner_email})
    external_ids = [r.external_id for r in rows]
    existing = {
        ext: (pk, arr, rest)
        for part in chunked(external_ids)
        for ext, pk, arr, *rest in Account.objects.filter(external_id__in=part).values_list(
            "external_id", "pk", "arr", *COMPARED
        )
    }
    before_use_cases: dict[int, set[int]] = {}
    for part in chunked([pk for pk, _, _ in existing.values()]):
        for account_id, use_case_id in AccountUseCase.objects.filter(account_id__in=part).values_list(
            "account_id", "use_case_id"
        ):
            before_use_cases.setdefault(account_id, set()).add(use_case_id)
    accounts = [
        Account(
            external_id=r.external_id,
            name=r.name,
            vertical=verticals[r.vertical.lower()],
            primary_use_case=use_cases[r.use_cases[0].lower()] if r.use_cases else None,
            arr=r.arr,
            owner=owners.get(r.owner_email),
            employees=r.employees,
            persona=r.persona,
            seats=r.seats,
            start_date=r.start_date,
            renewal_date=r.renewal_date,
            churned_on=r.churned_on,
        )
        for r in rows
    ]
    fields = [
        "name",
        "vertical",
        "primary_use_case",
        "arr",
        "owner",
        "employees",
        "persona",
        "seats",
        "start_date",
        "renewal_date",
        "churned_on",
        "updated_at",
    ]
    Account.objects.bulk_create(
        accounts, batch_size=2000, update_conflicts=True, unique_fields=["external_id"], update_fields=fields
    )
    ids = {
        ext: pk
        for part in chunked(external_ids)
        for ext, pk in Account.objects.filter(external_id__in=part).values_list("external_id", "pk")
    }
    result.created = sum(1 for r in rows if r.external_id not in existing)
    result.unchanged = sum(
        1
        for r, account in zip(rows, accounts, strict=True)
        if r.external_id in existing
        and existing[r.external_id][1] == r.arr
        and existing[r.external_id][2] == [getattr(account, f) for f in COMPARED]
        and before_use_cases.get(existing[r.external_id][0], set()) == {use_cases[u.lower()].pk for u in r.use_cases}
    )
    result.updated = len(rows) - result.created - result.unchanged

    for part in chunked(list(ids.values())):
        AccountUseCase.objects.filter(account_id__in=part).delete()
    AccountUseCase.objects.bulk_create(
        [
            AccountUseCase(account_id=ids[r.external_id], use_case=use_cases[u.lower()])
            for r in rows
            for u in r.use_cases
        ],
        batch_size=5000,
    )

    changes = []
    for r in rows:
        before = existing.get(r.external_id)
        if before is None or before[1] != r.arr:
            changes.append(
                ArrChange(account_id=ids[r.external_id], date=as_of, arr=r.arr, previous_arr=before and before[1])
            )
    # A second import on the same day corrects that day's entry; its previous ARR stays the original one.
    same_day = {
        pk: previous
        for part in chunked([c.account_id for c in changes])
        for pk, previous in ArrChange.objects.filter(account_id__in=part, date=as_of).values_list(
            "account_id", "previous_arr"
        )
    }
    for change in changes:
        if change.account_id in same_day:
            change.previous_arr = same_day[change.account_id]
    ArrChange.objects.bulk_create(
        changes,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["account", "date"],
        update_fields=["arr", "previous_arr"],
    )
    dirty_accounts_mark(ids=ids.values(), reason=Reason.ACCOUNT)
