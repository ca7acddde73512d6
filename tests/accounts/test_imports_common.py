"""Hostile and awkward CSV input (issue 15, points 6 and 8): NUL bytes, quoted newlines, huge cells,
echoed values, unchanged re-imports — through the commands, on both usage paths (COPY and streaming)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.imports.common import MAX_CELL
from accounts.models import Account, Feature, NpsResponse, UsageDaily
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

USAGE = "account_external_id,date,feature,events,active_users"
ACCOUNTS = "external_id,name,vertical,use_cases,arr,owner_email,employees,persona,seats,start_date,renewal_date"
# A blank line makes COPY refuse the file, so the same rows go through the streaming path.
PATHS = {"copy": "", "streaming": "\n"}


@pytest.fixture
def a1():
    return AccountFactory(external_id="A1")


def write(tmp_path, text: str | bytes) -> str:
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def run(command, path, *args):
    out, err = StringIO(), StringIO()
    call_command(command, path, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing(command, path, *args) -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(command, path, *args, stdout=StringIO(), stderr=err)
    return str(exc.value), err.getvalue()


@pytest.mark.parametrize("path", PATHS)
def test_a_nul_byte_in_a_cell_is_refused_naming_line_and_column(tmp_path, a1, path):
    # Past the first 8 KB (which is checked for binary data as a whole).
    filler = "".join(f"A1,2026-06-01,f{i},1,1\n" for i in range(600))
    text = f"{USAGE}\n{PATHS[path]}{filler}A1,2026-06-02,bad\x00feature,1,1\n"
    line = 2 + len(PATHS[path]) + 600
    message, _ = failing("import_usage", write(tmp_path, text))
    assert f"line {line}: feature: contains a NUL character" in message
    assert not Feature.objects.filter(key__startswith="bad").exists() and not UsageDaily.objects.exists()
    message, _ = failing("import_usage", write(tmp_path, text), "--skip-invalid")
    assert f"line {line}: feature: contains a NUL" in message and not Feature.objects.exists()


def test_a_nul_byte_in_an_account_cell_is_refused(tmp_path):
    rows = "".join(f"X{i},Name,Education,,1,,,,,,\n" for i in range(300))
    message, _ = failing("import_accounts", write(tmp_path, f"{ACCOUNTS}\n{rows}Z,Bad\x00Name,Education,,1,,,,,,\n"))
    assert "line 302: name: contains a NUL character" in message and not Account.objects.exists()


@pytest.mark.parametrize("path", PATHS)
def test_after_a_quoted_newline_errors_name_the_file_line_where_the_row_starts(tmp_path, a1, path):
    text = (
        f"{USAGE}\n{PATHS[path]}"
        'A1,2026-06-01,"video\nrooms",1,1\n'  # one row on file lines 2-3
        "A1,2026-06-02,x,-1,1\n"  # line 4
        'A1,2026-06-03,"multi\nline\nfeature",-2,1\n'  # starts on line 5
        "NOPE,2026-06-04,x,1,1\n"  # line 8
    )
    shift = len(PATHS[path])
    _, err = failing("import_usage", write(tmp_path, text))
    assert err.splitlines() == [
        f"line {4 + shift}: events: -1 is negative; expected a number ≥ 0",
        f"line {5 + shift}: events: -2 is negative; expected a number ≥ 0",
        f"line {8 + shift}: account_external_id: unknown account 'NOPE'",
    ]


def test_accounts_errors_after_a_quoted_newline_name_the_file_line(tmp_path):
    text = (
        f'{ACCOUNTS}\nA1,"Two\nlines",Education,,1,,,,,,\nA2,"Also\ntwo",Education,,-1,,,,,,\nA3,N,Education,,x,,,,,,\n'
    )
    _, err = failing("import_accounts", write(tmp_path, text))
    assert err.splitlines() == [
        "line 4: arr: -1 is negative; expected a number ≥ 0",
        "line 6: arr: 'x' is not a number",
    ]


@pytest.mark.parametrize("path", PATHS)
def test_echoed_values_are_cut_at_80_characters(tmp_path, a1, path):
    long = "N" * 5000
    text = f"{USAGE}\n{PATHS[path]}{long},2026-06-01,x,1,1\nA1,{long},x,1,1\nA1,2026-06-01,x,{long},1\n"
    _, err = failing("import_usage", write(tmp_path, text))
    assert f"unknown account '{'N' * 80}…'" in err
    assert f"date: '{'N' * 80}…' is not a date" in err
    assert f"events: '{'N' * 80}…' is not a whole number" in err
    assert len(err) < 1000


def test_echoed_account_cells_are_cut(tmp_path):
    _, err = failing("import_accounts", write(tmp_path, f"{ACCOUNTS}\nA1,N,Education,,1,{'x' * 500},,{'p' * 500},,,\n"))
    assert f"'{'x' * 80}…' is not an email address" in err and f"'{'p' * 80}…' is not one of" in err
    assert len(err) < 600


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("column", ["feature", "account_external_id", "date"])
def test_a_cell_over_the_limit_is_refused_naming_line_and_column(tmp_path, a1, path, column):
    cells = {"account_external_id": "A1", "date": "2026-06-01", "feature": "x", "events": "1", "active_users": "1"}
    cells[column] = "a" * (MAX_CELL + 10)
    row = ",".join(cells.values())
    text = f"{USAGE}\n{PATHS[path]}A1,2026-06-01,ok,1,1\n{row}\n"
    line = 3 + len(PATHS[path])
    message, err = failing("import_usage", write(tmp_path, text))
    assert f"line {line}: {column}: value longer than 1,048,576 characters" in message + err
    assert len(message + err) < 1000
    assert not UsageDaily.objects.exists() and not Feature.objects.filter(key__startswith="aaa").exists()


def test_a_multi_megabyte_line_is_refused_without_reading_it_whole(tmp_path):
    # Longer than a line may be (MAX_LINE): read in pieces, refused naming the column.
    text = f"{ACCOUNTS}\nA1,N,Education,,1,,,,,,\nA2,{'n' * (5 * MAX_CELL)},Education,,1,,,,,,\n"
    message, _ = failing("import_accounts", write(tmp_path, text))
    assert message.endswith("line 3: name: value longer than 1,048,576 characters: shorten it")
    many_lines = "n\n" * MAX_CELL
    quoted = f'{ACCOUNTS}\nA1,N,Education,,1,,,,,,\nA2,"{many_lines}",Education,,1,,,,,,\n'
    message, _ = failing("import_accounts", write(tmp_path, quoted))
    assert message.endswith("line 3: name: value longer than 1,048,576 characters: shorten it")


@pytest.mark.parametrize("path", PATHS)
def test_unchanged_rows_are_reported_apart_from_updated_ones(tmp_path, a1, path):
    first = f"{USAGE}\n{PATHS[path]}A1,2026-06-01,x,1,1\nA1,2026-06-02,x,2,1\n"
    assert "2 created, 0 updated, 0 skipped, 0 unchanged" in run("import_usage", write(tmp_path, first))[0]
    assert "0 created, 0 updated, 0 skipped, 2 unchanged" in run("import_usage", write(tmp_path, first))[0]
    again = f"{USAGE}\n{PATHS[path]}A1,2026-06-01,x,1,1\nA1,2026-06-02,x,5,1\nA1,2026-06-03,x,1,1\n"
    assert "1 created, 1 updated, 0 skipped, 1 unchanged" in run("import_usage", write(tmp_path, again))[0]


def test_unchanged_nps_and_accounts(tmp_path, a1):
    nps = write(tmp_path, "account_external_id,date,score,comment\nA1,2026-06-01,9,great\n")
    run("import_nps", nps)
    assert "0 created, 0 updated, 0 skipped, 1 unchanged" in run("import_nps", nps)[0]
    assert NpsResponse.objects.count() == 1
    rows = f"{ACCOUNTS}\nB1,Bee,Education,PTA meetings;Board,10,b@x.org,5,manager,3,2025-01-01,\n"
    run("import_accounts", write(tmp_path, rows))
    assert "0 created, 0 updated, 0 skipped, 1 unchanged" in run("import_accounts", write(tmp_path, rows))[0]
    moved = rows.replace("PTA meetings;Board", "Board;PTA meetings")  # another primary use case
    assert "0 created, 1 updated, 0 skipped, 0 unchanged" in run("import_accounts", write(tmp_path, moved))[0]
