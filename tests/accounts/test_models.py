"""UsageDaily keyed by (account, date, feature): the migration keeps rows, re-imports replace."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import ProtectedError

from accounts.models import UsageDaily
from tests.factories import AccountFactory, FeatureFactory, usage

TABLE = UsageDaily._meta.db_table
BEFORE = ("accounts", "0004_indexes_for_dashboards")
AFTER = ("accounts", "0005_usage_natural_primary_key")
HEADER = "account_external_id,date,feature,events,active_users"


def primary_key_columns() -> list[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return [cols for info in constraints.values() if info["primary_key"] for cols in [info["columns"]]][0]


def table_columns() -> list[str]:
    with connection.cursor() as cursor:
        return [c.name for c in connection.introspection.get_table_description(cursor, TABLE)]


def btree_indexes() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        return sorted(name for name, definition in cursor.fetchall() if "USING btree" in definition)


def migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_every_usage_row_and_keys_by_the_triple():
    account, other = AccountFactory(), AccountFactory()
    scheduling, reminders = FeatureFactory(key="scheduling"), FeatureFactory(key="reminders")
    try:
        migrate(BEFORE)
        assert "id" in table_columns() and primary_key_columns() == ["id"]
        rows = [
            (account.pk, dt.date(2026, 6, 1), scheduling.pk, 3, 2),
            (account.pk, dt.date(2026, 6, 1), reminders.pk, 4, 1),
            (account.pk, dt.date(2026, 6, 2), scheduling.pk, 5, 0),
            (other.pk, dt.date(2026, 6, 1), scheduling.pk, 7, 7),
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {TABLE} (account_id, date, feature_id, events, active_users) VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
        migrate(AFTER)
        assert primary_key_columns() == ["account_id", "date", "feature_id"]
        assert "id" not in table_columns()
        assert btree_indexes() == [f"{TABLE}_pkey"]  # one b-tree: the key (BRIN on date besides)
        found = UsageDaily.objects.values_list("account_id", "date", "feature_id", "events", "active_users")
        assert sorted(found) == sorted(rows)
        with pytest.raises(IntegrityError), transaction.atomic():
            UsageDaily.objects.create(account=account, date=dt.date(2026, 6, 1), feature=scheduling, events=9)
        # And back: 0004's table (an id, a unique triple) with the same rows.
        migrate(BEFORE)
        assert primary_key_columns() == ["id"]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT account_id, date, feature_id, events, active_users FROM {TABLE}")
            assert sorted(cursor.fetchall()) == sorted(rows)
    finally:
        call_command("migrate", verbosity=0)
    assert primary_key_columns() == ["account_id", "date", "feature_id"]


@pytest.mark.django_db
def test_primary_key_is_the_triple():
    account, feature = AccountFactory(), FeatureFactory()
    row = usage(account, feature, dt.date(2026, 6, 1), events=3)
    assert row.pk == (account.pk, dt.date(2026, 6, 1), feature.pk)
    assert UsageDaily.objects.get(pk=(account.pk, dt.date(2026, 6, 1), feature.pk)).events == 3
    with pytest.raises(IntegrityError), transaction.atomic():
        usage(account, feature, dt.date(2026, 6, 1), events=4)


def _import(tmp_path, name: str, body: str, *args) -> str:
    path = tmp_path / name
    path.write_text(f"{HEADER}\n{body}")
    out = StringIO()
    call_command("import_usage", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_reimported_triple_is_replaced_not_duplicated(tmp_path):
    account = AccountFactory(external_id="A1")
    AccountFactory(external_id="A2")
    out = _import(tmp_path, "one.csv", "A1,2026-06-01,scheduling,3,2\nA1,2026-06-02,scheduling,4,2\n")
    assert "2 created, 0 updated" in out
    # New rows next to replaced ones (the file overlaps rows already there: the upsert path).
    out = _import(
        tmp_path,
        "two.csv",
        "A1,2026-06-02,scheduling,9,5\nA1,2026-06-03,scheduling,1,1\nA2,2026-06-02,scheduling,1,1\n",
    )
    assert "2 created, 1 updated" in out
    assert UsageDaily.objects.count() == 4
    assert (
        UsageDaily.objects.get(
            pk=(account.pk, dt.date(2026, 6, 2), account.usage.get(date="2026-06-02").feature_id)
        ).events
        == 9
    )
    # The same file again changes nothing and duplicates nothing.
    out = _import(
        tmp_path,
        "two.csv",
        "A1,2026-06-02,scheduling,9,5\nA1,2026-06-03,scheduling,1,1\nA2,2026-06-02,scheduling,1,1\n",
    )
    assert "0 created, 0 updated, 0 skipped, 3 unchanged" in out and UsageDaily.objects.count() == 4


@pytest.mark.django_db
def test_repeated_triple_in_a_new_day_last_wins(tmp_path):
    """No overlap with stored rows (the plain insert) but a key twice in the file: the last row wins."""
    AccountFactory(external_id="A1")
    _import(tmp_path, "old.csv", "A1,2026-05-01,scheduling,3,2\n")
    out = _import(tmp_path, "dup.csv", "A1,2026-06-01,scheduling,3,2\nA1,2026-06-01,scheduling,8,1\n")
    assert "1 created" in out
    assert sorted(UsageDaily.objects.values_list("date", "events")) == [
        (dt.date(2026, 5, 1), 3),
        (dt.date(2026, 6, 1), 8),
    ]


@pytest.mark.django_db
def test_fast_path_trims_cells_as_the_streaming_path_does(tmp_path):
    AccountFactory(external_id="A1")
    out = _import(tmp_path, "spaces.csv", " A1 , 2026-06-01 , Calendar Sync ,3,\n")
    assert "1 created" in out
    row = UsageDaily.objects.get()
    assert (row.date, row.feature.key, row.events, row.active_users) == (dt.date(2026, 6, 1), "calendar_sync", 3, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("day", ["today", "infinity", "2026-6-1", "06/01/2026", "20260601"])
def test_dates_postgresql_would_take_are_still_refused(tmp_path, day):
    AccountFactory(external_id="A1")
    path = tmp_path / "days.csv"
    path.write_text(f"{HEADER}\nA1,2026-06-01,scheduling,1,1\nA1,{day},scheduling,3,2\n")
    err = StringIO()
    with pytest.raises(Exception, match="1 invalid row"):
        call_command("import_usage", str(path), stdout=StringIO(), stderr=err)
    assert err.getvalue().strip() == f"line 3: date: '{day}' is not a date in YYYY-MM-DD form"
    assert not UsageDaily.objects.exists()


@pytest.mark.django_db
def test_account_delete_cascades_and_feature_delete_is_protected():
    account, other, feature = AccountFactory(), AccountFactory(), FeatureFactory()
    usage(account, feature, dt.date(2026, 6, 1))
    usage(other, feature, dt.date(2026, 6, 1))
    account.delete()
    assert list(UsageDaily.objects.values_list("account_id", flat=True)) == [other.pk]
    with pytest.raises(ProtectedError):
        feature.delete()
