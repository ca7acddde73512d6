"""The three CSV imports through their commands: good rows, bad rows, bad files, upserts."""

import csv
import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts.models import Account, ArrChange, Feature, NpsResponse, UsageDaily, UseCase, Vertical
from people.models import User

pytestmark = pytest.mark.django_db

ACCOUNT_HEADER = "external_id,name,vertical,use_cases,arr,owner_email,employees,persona,seats,start_date,renewal_date"


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def run(command, path, *args):
    out, err = StringIO(), StringIO()
    call_command(command, path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(command, path, *args):
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(command, path, *args, stdout=StringIO(), stderr=err)
    return str(exc.value), err.getvalue()


@pytest.fixture
def accounts_csv(tmp_path):
    return write(
        tmp_path,
        "accounts.csv",
        f"{ACCOUNT_HEADER}\n"
        "EDU-1,Lincoln High,Education,PTA meetings;Board meetings,12000,Jo@School.org,300,manager,40,2025-01-01,2027-01-01\n"
        "TS-1,Acme,Tech Sales,Demo scheduling,150000.50,sam@acme.io,,executive,,,\n",
    )


def test_import_accounts_creates_everything(accounts_csv):
    out, _ = run("import_accounts", accounts_csv, "--as-of", "2026-01-15")
    assert "2 created, 0 updated, 0 skipped" in out
    lincoln = Account.objects.get(external_id="EDU-1")
    assert lincoln.vertical.name == "Education"
    assert lincoln.primary_use_case.name == "PTA meetings"
    assert sorted(lincoln.use_cases.values_list("name", flat=True)) == ["Board meetings", "PTA meetings"]
    assert lincoln.arr == Decimal("12000.00") and lincoln.seats == 40 and lincoln.persona == "manager"
    owner = lincoln.owner
    assert owner.email == "jo@school.org" and owner.groups.filter(name="CSM").exists()
    assert not owner.has_usable_password()
    acme = Account.objects.get(external_id="TS-1")
    assert acme.seats is None and acme.employees is None and acme.renewal_date is None
    assert list(ArrChange.objects.filter(account=acme).values_list("date", "arr", "previous_arr")) == [
        (dt.date(2026, 1, 15), Decimal("150000.50"), None)
    ]


def test_reimport_updates_without_duplicates_and_records_arr_change(tmp_path, accounts_csv):
    run("import_accounts", accounts_csv, "--as-of", "2026-01-15")
    changed = write(
        tmp_path,
        "changed.csv",
        f"{ACCOUNT_HEADER},churned_on\n"
        "EDU-1,Lincoln High School,education,Board meetings,15000,jo@school.org,300,manager,40,2025-01-01,2027-01-01,\n"
        "TS-1,Acme,Tech Sales,Demo scheduling,150000.50,sam@acme.io,,executive,,,,2026-03-01\n",
    )
    out, _ = run("import_accounts", changed, "--as-of", "2026-02-01")
    assert "0 created, 2 updated" in out
    assert Account.objects.count() == 2 and Vertical.objects.count() == 2 and User.objects.count() == 2
    lincoln = Account.objects.get(external_id="EDU-1")
    assert lincoln.name == "Lincoln High School"
    assert lincoln.primary_use_case.name == "Board meetings"
    assert list(lincoln.use_cases.values_list("name", flat=True)) == ["Board meetings"]
    assert list(ArrChange.objects.filter(account=lincoln).values_list("date", "arr", "previous_arr")) == [
        (dt.date(2026, 1, 15), Decimal("12000.00"), None),
        (dt.date(2026, 2, 1), Decimal("15000.00"), Decimal("12000.00")),
    ]
    acme = Account.objects.get(external_id="TS-1")
    assert acme.churned_on == dt.date(2026, 3, 1)
    assert ArrChange.objects.filter(account=acme).count() == 1  # ARR unchanged: no new entry


def test_bad_account_rows_are_all_named_and_nothing_is_written(tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        f"{ACCOUNT_HEADER}\n"
        "A1,Good,Education,PTA meetings,100,a@b.io,1,,1,,\n"
        "A2,Bad,Education,,-5,notanemail,x,ceo,1,2025-13-01,\n"
        ",NoId,Education,,1,,,,,,\n"
        "A1,Again,Education,,1,,,,,,\n",
    )
    message, err = run_failing("import_accounts", path)
    assert "3 invalid rows: nothing written" in message
    for expected in [
        "line 3: arr: -5 is negative",
        "line 3: owner_email: 'notanemail' is not an email address",
        "line 3: employees: 'x' is not a whole number",
        "line 3: persona: 'ceo' is not one of",
        "line 3: start_date: '2025-13-01' is not a date in YYYY-MM-DD form",
        "line 4: external_id: required, but empty",
        "line 5: external_id: 'A1' already appears on line 2",
    ]:
        assert expected in err
    assert Account.objects.count() == 0 and Vertical.objects.count() == 0 and User.objects.count() == 0


def test_skip_invalid_imports_the_valid_rows(tmp_path):
    path = write(
        tmp_path,
        "mixed.csv",
        f"{ACCOUNT_HEADER}\nA1,Good,Education,PTA meetings,100,,1,,1,,\nA2,Bad,Education,,abc,,,,,,\n",
    )
    out, err = run("import_accounts", path, "--skip-invalid")
    assert "1 created, 0 updated, 1 skipped" in out
    assert "line 3: arr: 'abc' is not a number" in err
    assert list(Account.objects.values_list("external_id", flat=True)) == ["A1"]


def test_columns_in_any_order_and_extra_columns_ignored(tmp_path):
    path = write(
        tmp_path,
        "order.csv",
        "renewal_date,seats,Notes,start_date,persona,employees,owner_email,arr,use_cases,vertical,name,external_id\n"
        ",5,whatever,,,,,10,,Healthcare,Clinic,H1\n",
    )
    run("import_accounts", path)
    clinic = Account.objects.get(external_id="H1")
    assert clinic.seats == 5 and clinic.vertical.name == "Healthcare" and clinic.primary_use_case is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
        ("external_id,name\nA1,Café\n".encode("latin-1"), "not UTF-8"),
        ("Ωmega,b\n".encode("utf-16"), "not a CSV text file"),
        (b"external_id,name\n", "missing columns: vertical, use_cases, arr"),
    ],
)
def test_bad_files_get_a_clean_message(tmp_path, content, expected):
    path = write(tmp_path, "bad.csv", content)
    message, _ = run_failing("import_accounts", path)
    assert expected in message


def test_non_utf8_file_is_rejected(tmp_path):
    path = write(tmp_path, "latin.csv", f"{ACCOUNT_HEADER}\nA1,Café,Education,,1,,,,,,\n", encoding="latin-1")
    message, _ = run_failing("import_accounts", path)
    assert "not UTF-8" in message
    assert Account.objects.count() == 0


def test_missing_file_is_a_clean_error():
    message, _ = run_failing("import_accounts", "/nonexistent/accounts.csv")
    assert "No such file" in message


def test_errors_are_capped_at_50_with_a_count_of_the_rest(tmp_path):
    rows = "".join(f"A{i},N,Education,,-1,,,,,,\n" for i in range(60))
    path = write(tmp_path, "many.csv", f"{ACCOUNT_HEADER}\n{rows}")
    _, err = run_failing("import_accounts", path)
    lines = err.strip().splitlines()
    assert len(lines) == 51
    assert lines[-1] == "… and 10 more errors"


USAGE_HEADER = "account_external_id,date,feature,events,active_users"


@pytest.fixture
def two_accounts(accounts_csv):
    run("import_accounts", accounts_csv)


def test_import_usage_upserts_and_creates_features(tmp_path, two_accounts):
    path = write(
        tmp_path,
        "usage.csv",
        f"{USAGE_HEADER}\nEDU-1,2026-11-01,scheduling,3,2\nTS-1,2026-11-02,Calendar Sync,7,\n",
    )
    out, _ = run("import_usage", path)
    assert "2 created, 0 updated, 0 skipped" in out
    assert set(Feature.objects.values_list("key", flat=True)) == {"scheduling", "calendar_sync"}
    again = write(tmp_path, "again.csv", f"{USAGE_HEADER}\nEDU-1,2026-11-01,scheduling,9,4\n")
    out, _ = run("import_usage", again)
    assert "0 created, 1 updated" in out
    row = UsageDaily.objects.get(account__external_id="EDU-1")
    assert (row.events, row.active_users) == (9, 4)
    assert UsageDaily.objects.count() == 2


def test_repeated_usage_row_in_one_file_last_wins(tmp_path, two_accounts):
    path = write(
        tmp_path,
        "dup.csv",
        f"{USAGE_HEADER}\nEDU-1,2026-11-01,scheduling,3,2\nEDU-1,2026-11-01,scheduling,5,1\n",
    )
    run("import_usage", path)
    assert list(UsageDaily.objects.values_list("events", "active_users")) == [(5, 1)]


def test_bad_usage_rows_named_and_nothing_written(tmp_path, two_accounts):
    path = write(
        tmp_path,
        "bad.csv",
        f"{USAGE_HEADER}\n"
        "EDU-1,2026-11-01,scheduling,3,2\n"
        "NOPE,2026-11-01,scheduling,3,2\n"
        "EDU-1,2026-02-30,scheduling,3,2\n"
        "EDU-1,2026-11-01,new_feature,-3,2\n"
        "EDU-1,2026-11-01,,3,2\n"
        "EDU-1,2026-11-03,scheduling,,2\n",
    )
    message, err = run_failing("import_usage", path)
    assert "5 invalid rows" in message
    for expected in [
        "line 3: account_external_id: unknown account 'NOPE'",
        "line 4: date: '2026-02-30' is not a date in YYYY-MM-DD form",
        "line 5: events: -3 is negative",
        "line 6: feature: required, but empty",
        "line 7: events: required, but empty",
    ]:
        assert expected in err
    assert UsageDaily.objects.count() == 0
    assert not Feature.objects.filter(key="new_feature").exists()


def test_usage_skip_invalid(tmp_path, two_accounts):
    path = write(tmp_path, "mixed.csv", f"{USAGE_HEADER}\nEDU-1,2026-11-01,scheduling,3,2\nNOPE,2026-11-01,x,1,1\n")
    out, err = run("import_usage", path, "--skip-invalid")
    assert "1 created, 0 updated, 1 skipped" in out and "unknown account 'NOPE'" in err
    assert UsageDaily.objects.count() == 1


def test_import_nps(tmp_path, two_accounts):
    path = write(
        tmp_path,
        "nps.csv",
        "account_external_id,date,score,comment\nEDU-1,2026-10-01,9,Love it\nTS-1,2026-10-02,11,\nTS-1,oct,5,\n",
    )
    message, err = run_failing("import_nps", path)
    assert "line 3: score: 11 is above 10" in err and "line 4: date: 'oct' is not a date" in err
    assert NpsResponse.objects.count() == 0
    out, _ = run("import_nps", path, "--skip-invalid")
    assert "1 created, 0 updated, 2 skipped" in out
    fixed = write(tmp_path, "nps2.csv", "account_external_id,date,score\nEDU-1,2026-10-01,4\n")
    out, _ = run("import_nps", fixed)
    assert "0 created, 1 updated" in out
    assert list(NpsResponse.objects.values_list("score", "comment")) == [(4, "")]


def test_use_case_names_are_matched_case_insensitively(tmp_path):
    UseCase.objects.create(name="PTA meetings")
    path = write(tmp_path, "a.csv", f"{ACCOUNT_HEADER}\nA1,N,Education,pta MEETINGS,1,,,,,,\n")
    run("import_accounts", path)
    assert UseCase.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the import task is queued on commit
def test_admin_upload_runs_the_same_import_and_lists_errors(client_for, cs_admin):
    client = client_for(cs_admin)
    assert "Import CSV" in client.get("/admin/accounts/account/").content.decode()
    bad = SimpleUploadedFile(
        "a.csv", f"{ACCOUNT_HEADER}\nA1,Good,Education,,1,,,,,,\nA2,Bad,Education,,-1,,,,,,\n".encode()
    )
    page = client.post(
        "/admin/accounts/account/import/", {"kind": "accounts", "file": bad}, follow=True
    ).content.decode()
    assert "nothing was written" in page and "line 3: arr: -1 is negative" in page
    assert Account.objects.count() == 0
    again = SimpleUploadedFile(
        "a.csv", f"{ACCOUNT_HEADER}\nA1,Good,Education,,1,,,,,,\nA2,Bad,Education,,-1,,,,,,\n".encode()
    )
    page = client.post(
        "/admin/accounts/account/import/", {"kind": "accounts", "file": again, "skip_invalid": "on"}, follow=True
    ).content.decode()
    assert "1 created, 0 updated, 1 skipped" in page
    empty = SimpleUploadedFile("e.csv", b"")
    page = client.post(
        "/admin/accounts/account/import/", {"kind": "usage", "file": empty}, follow=True
    ).content.decode()
    assert "e.csv: the file is empty" in page


@pytest.mark.parametrize("who", ["csm", "leader"])
def test_admin_upload_is_closed_to_csm_and_leader(request, client_for, who):
    response = client_for(request.getfixturevalue(who)).get("/admin/accounts/account/import/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_usage_error_cap_and_count(tmp_path, two_accounts):
    rows = "".join(f"EDU-1,2026-11-{1 + i % 28:02d},f{i},-1,1\n" for i in range(60))
    message, err = run_failing("import_usage", write(tmp_path, "many.csv", f"{USAGE_HEADER}\n{rows}"))
    assert "60 invalid rows" in message
    lines = err.strip().splitlines()
    assert len(lines) == 51 and lines[0].startswith("line 2: events: -1 is negative")
    assert lines[-1] == "… and 10 more errors"


def test_usage_blank_lines_quotes_and_ragged_rows(tmp_path, two_accounts):
    # A quoted cell, a blank line, and a row with an extra cell (which COPY refuses and the
    # streaming path reads): all import, and line numbers stay true to the file.
    path = write(
        tmp_path,
        "odd.csv",
        f'{USAGE_HEADER}\n"EDU-1",2026-11-01,"Video Rooms",3,2\n\nTS-1,2026-11-02,scheduling,1,1,extra\nTS-1,2026-11-03,scheduling,x,1\n',
    )
    message, err = run_failing("import_usage", path)
    assert "line 5: events: 'x' is not a whole number" in err
    out, _ = run("import_usage", path, "--skip-invalid")
    assert "2 created, 0 updated, 1 skipped" in out
    assert Feature.objects.filter(key="video_rooms", name="Video rooms").exists()


def test_usage_fast_path_reports_exact_lines(tmp_path, two_accounts):
    path = write(
        tmp_path,
        "lines.csv",
        f"{USAGE_HEADER}\nEDU-1,2026-11-01,a,1,1\n\nEDU-1,2026-11-31,a,1,1\nEDU-1,0000-01-01,a,1,1\nEDU-1,2026-11-02,a,99999999999,1\n",
    )
    _, err = run_failing("import_usage", path)
    assert err.splitlines() == [
        "line 4: date: '2026-11-31' is not a date in YYYY-MM-DD form",
        "line 5: date: '0000-01-01' is not a date in YYYY-MM-DD form",
        "line 6: events: 99999999999 is too large",
    ]


# Every problem of a row is reported (each naming its line and column), not only the first.

BAD_CELLS = [
    "line 2: account_external_id: unknown account 'NOPE'",
    "line 2: date: '2026-13-01' is not a date in YYYY-MM-DD form",
    "line 2: events: -4 is negative; expected a number ≥ 0",
    "line 2: active_users: 'many' is not a whole number",
]


def test_usage_fast_path_reports_every_problem_of_a_row(tmp_path, two_accounts):
    path = write(tmp_path, "row.csv", f"{USAGE_HEADER}\nNOPE,2026-13-01,scheduling,-4,many\nEDU-1,2026-11-01,a,1,1\n")
    message, err = run_failing("import_usage", path)
    assert "1 invalid row" in message
    assert err.splitlines() == BAD_CELLS
    assert UsageDaily.objects.count() == 0


def test_usage_streaming_path_reports_every_problem_of_a_row(tmp_path, two_accounts):
    # The extra cell on line 3 makes COPY refuse the file, so the row-by-row reader checks it.
    path = write(tmp_path, "row.csv", f"{USAGE_HEADER}\nNOPE,2026-13-01,scheduling,-4,many\nEDU-1,2026-11-01,a,1,1,x\n")
    message, err = run_failing("import_usage", path)
    assert "1 invalid row" in message
    assert err.splitlines() == BAD_CELLS


def test_nps_reports_every_problem_of_a_row(tmp_path, two_accounts):
    path = write(tmp_path, "nps.csv", "account_external_id,date,score\nNOPE,oct,11\nEDU-1,2026-10-01,9\n")
    message, err = run_failing("import_nps", path)
    assert "1 invalid row" in message
    assert err.splitlines() == [
        "line 2: account_external_id: unknown account 'NOPE'",
        "line 2: date: 'oct' is not a date in YYYY-MM-DD form",
        "line 2: score: 11 is above 10",
    ]


def test_accounts_report_every_problem_of_a_row(tmp_path):
    path = write(tmp_path, "acc.csv", f"{ACCOUNT_HEADER}\nA1,,Education,,-5,not-an-email,x,boss,,2026-02-30,\n")
    message, err = run_failing("import_accounts", path)
    assert "1 invalid row" in message
    assert err.splitlines() == [
        "line 2: name: required, but empty",
        "line 2: arr: -5 is negative; expected a number ≥ 0",
        "line 2: owner_email: 'not-an-email' is not an email address",
        "line 2: employees: 'x' is not a whole number",
        "line 2: persona: 'boss' is not one of executive, individual_contributor, manager (or empty)",
        "line 2: start_date: '2026-02-30' is not a date in YYYY-MM-DD form",
    ]


@pytest.mark.parametrize("ragged", ["", ",extra"], ids=["fast path", "streaming path"])
def test_every_problem_counts_towards_the_cap_of_50(tmp_path, two_accounts, ragged):
    rows = "".join(f"NOPE{i},2026-11-{1 + i:02d},f,-1,x\n" for i in range(20))
    path = write(tmp_path, "many.csv", f"{USAGE_HEADER}\n{rows}EDU-1,2026-11-01,a,1,1{ragged}\n")
    message, err = run_failing("import_usage", path)
    assert "20 invalid rows" in message
    lines = err.strip().splitlines()
    assert len(lines) == 51 and lines[:3] == [
        "line 2: account_external_id: unknown account 'NOPE0'",
        "line 2: events: -1 is negative; expected a number ≥ 0",
        "line 2: active_users: 'x' is not a whole number",
    ]
    assert lines[-1] == "… and 10 more errors"


def test_the_import_page_offers_a_template_per_kind_that_imports_cleanly(
    client_for, cs_admin, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client = client_for(cs_admin)
    page = client.get("/admin/accounts/account/import/").content.decode()
    for kind in ("accounts", "usage", "nps"):
        url = f"/admin/accounts/account/import/template/{kind}.csv"
        assert f'href="{url}"' in page
        response = client.get(url)
        assert response["Content-Type"].startswith("text/csv")
        assert f'filename="{kind}-template.csv"' in response["Content-Disposition"]
        text = response.content.decode()
        header, example, *rest = text.splitlines()
        assert not rest and len(header.split(",")) == len(next(csv.reader([example])))
        # The same file through the admin upload (and the command): no error, one row created.
        upload = SimpleUploadedFile(f"{kind}.csv", response.content)
        with django_capture_on_commit_callbacks(execute=True):
            queued = client.post("/admin/accounts/account/import/", {"kind": kind, "file": upload})
        result = client.get(queued["Location"])
        assert "1 created, 0 updated, 0 skipped" in result.content.decode(), kind
    assert (
        client.get("/admin/accounts/account/import/template/accounts.csv").content.decode().splitlines()[0]
        == ACCOUNT_HEADER + ",churned_on"
    )
    recent = client.get("/admin/accounts/account/import/").content.decode()
    assert "<td>Daily usage</td>" in recent and "<td>usage</td>" not in recent  # the kind by its label
    account = Account.objects.get(external_id="ACME-001")
    assert account.usage.count() == 1 and NpsResponse.objects.filter(account=account, score=9).exists()


def test_templates_are_for_importers_only_and_unknown_kinds_are_not_found(client_for, cs_admin, csm):
    assert client_for(cs_admin).get("/admin/accounts/account/import/template/logins.csv").status_code == 404
    response = client_for(csm).get("/admin/accounts/account/import/template/accounts.csv")
    assert response.status_code in (302, 403) and b"ACME-001" not in response.content
