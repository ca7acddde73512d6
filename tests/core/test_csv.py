"""Formula injection (issue 15 §5): every CSV the product writes neutralises cells a spreadsheet would
run (`=`, `+`, `-`, `@`, tab, carriage return), through core.csv, and keeps numbers numbers."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.models import Account, Vertical
from core.csv import FORMULA_STARTS, lines, safe_cell
from health.models import HealthScore
from segments.models import Segment

D = dt.date(2026, 6, 30)
HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTabbed", "\rReturn"]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_cells_get_a_leading_quote(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.5", "-12.50", "+3", "-0", "-.5", "-1e3", -12.5, -3, Decimal("-7.25"), None, ""])
def test_numbers_stay_numbers(value):
    assert safe_cell(value) == value


def test_ordinary_text_is_untouched():
    assert list(lines(["a", "b"], [["Acme - East", "x=1"]])) == ["a,b\r\n", "Acme - East,x=1\r\n"]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _assert_safe(text: str, where: str, *, expect_names: bool = True) -> None:
    rows = _cells(text)
    assert len(rows) > 1, f"{where}: no rows"
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                float(cell)  # only a plain number may begin with + or -
    if expect_names:
        flat = [cell for row in rows for cell in row]
        assert any(cell.startswith("'=HYPERLINK") or "'=HYPERLINK" in cell for cell in flat), where


@pytest.fixture
def hostile_world(db, leader):
    call_command("seed_demo", accounts=8, today=D.isoformat(), stdout=io.StringIO())
    call_command("recompute", as_of=D.isoformat(), stdout=io.StringIO())
    for i, account in enumerate(Account.objects.order_by("pk")):
        Account.objects.filter(pk=account.pk).update(name=HOSTILE[i % len(HOSTILE)])
    for i, vertical in enumerate(Vertical.objects.order_by("pk")):
        Vertical.objects.filter(pk=vertical.pk).update(name=f"{HOSTILE[i % len(HOSTILE)]} {i}")
    HealthScore.objects.filter(as_of=D).update(band="at_risk")  # every account on the risk list
    segment = Segment.objects.filter(memberships__isnull=False).order_by("pk").first()
    Segment.objects.filter(pk=segment.pk).update(name="=1+1 segment")
    leader.refresh_from_db()  # seed_demo set the cast's passwords
    return {"segment": segment.slug}


def test_every_csv_writer_neutralises_formulas(hostile_world, client_for, leader):
    client = client_for(leader)
    downloads = {
        "/accounts/export.csv": True,
        "/risk/?format=csv": True,
        f"/segments/{hostile_world['segment']}/export.csv": True,
        "/revenue/?format=csv": False,  # vertical names only
        "/revenue/?format=csv&table=trend": False,
        "/revenue/?format=csv&table=retention": False,
        "/revenue/?format=csv&table=pareto": False,
        "/revenue/?format=csv&table=use_cases": False,
    }
    for url, names in downloads.items():
        response = client.get(url)
        assert response.status_code == 200, url
        text = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
        _assert_safe(text, url, expect_names=names)
    verticals = _cells(client.get("/revenue/?format=csv").content.decode())
    assert all(row[0].startswith("'") for row in verticals[1:]), verticals  # every vertical name was hostile
    assert all(float(row[2]) >= 0 for row in verticals[1:])  # arr: still a number

    out = io.StringIO()
    call_command("export_accounts", "--as-of", D.isoformat(), stdout=out)
    _assert_safe(out.getvalue(), "export_accounts")
    exported = _cells(out.getvalue())
    assert {row[1] for row in exported[1:]} == {"'" + name for name in HOSTILE}
    assert "'=1+1 segment" in {row[9] for row in exported[1:]}


def test_export_accounts_to_a_file(hostile_world, tmp_path):
    target = tmp_path / "accounts.csv"
    call_command("export_accounts", "--as-of", D.isoformat(), "-o", str(target), stderr=io.StringIO())
    _assert_safe(target.read_text(encoding="utf-8"), "export_accounts -o")
