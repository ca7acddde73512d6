"""seed_demo: deterministic, realistic per vertical, the demo team can log in, config applied."""

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from accounts.models import Account, ArrChange, UsageDaily
from health.models import Scorecard
from segments.models import Segment

pytestmark = pytest.mark.django_db
TODAY = "2026-11-01"


def seed(*args):
    call_command("seed_demo", "--accounts", "60", "--seed", "7", "--today", TODAY, *args, stdout=StringIO())


def digest() -> str:
    rows = UsageDaily.objects.order_by("account__external_id", "date", "feature__key").values_list(
        "account__external_id", "date", "feature__key", "events", "active_users"
    )
    accounts = Account.objects.order_by("external_id").values_list("external_id", "name", "arr", "churned_on")
    return hashlib.sha256(repr((list(rows), list(accounts))).encode()).hexdigest()


def test_same_seed_gives_the_same_data():
    seed()
    first = digest()
    seed("--reset")
    assert digest() == first


def test_education_uses_the_product_far_less_often_than_tech_sales():
    seed()
    active_days = {
        row["account__vertical__name"]: row["days"] / row["accounts"]
        for row in UsageDaily.objects.values("account__vertical__name").annotate(
            days=Count("date", distinct=False), accounts=Count("account", distinct=True)
        )
    }
    assert active_days["Tech Sales"] > 4 * active_days["Education"]
    assert UsageDaily.objects.filter(date__gt=dt.date.fromisoformat(TODAY)).count() == 0


def test_churned_accounts_stop_using_the_product_before_churning():
    seed()
    churned = Account.objects.filter(churned_on__isnull=False)
    assert churned.exists()
    for account in churned:
        last = account.usage.order_by("-date").values_list("date", flat=True).first()
        assert last is None or last < account.churned_on


def test_config_users_and_history_are_there(client):
    seed()
    assert set(Scorecard.objects.values_list("vertical__name", flat=True)) >= {
        "Education", "Tech Sales", "Recruiting", "Customer Success", "Healthcare"
    }  # fmt: skip
    assert Segment.objects.count() >= 8
    assert ArrChange.objects.values("account").distinct().count() == Account.objects.count()
    for username in ("csm", "leader", "admin"):
        assert client.login(username=username, password="demo")


def test_reseeding_needs_reset_and_if_empty_skips():
    seed()
    with pytest.raises(CommandError, match="use --reset"):
        seed()
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "already loaded" in out.getvalue()
