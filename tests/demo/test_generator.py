"""seed_demo: deterministic, realistic per vertical, the demo team can log in, config applied."""

import datetime as dt
import hashlib
import statistics
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.http import HttpRequest

from accounts.models import Account, ArrChange, NpsResponse, StatedDriver, UsageDaily
from health.models import Scorecard
from journeys.models import Journey
from segments.models import Segment

pytestmark = pytest.mark.django_db
TODAY = "2026-11-01"


def seed(*args, accounts="60"):
    call_command("seed_demo", "--accounts", accounts, "--seed", "7", "--today", TODAY, *args, stdout=StringIO())


def digest() -> str:
    """Every generated row, by natural keys (ids differ between runs)."""
    tables = [
        Account.objects.order_by("external_id").values_list(
            "external_id",
            "name",
            "vertical__name",
            "primary_use_case__name",
            "arr",
            "owner__username",
            "employees",
            "persona",
            "seats",
            "start_date",
            "renewal_date",
            "churned_on",
        ),
        UsageDaily.objects.order_by("account__external_id", "date", "feature__key").values_list(
            "account__external_id", "date", "feature__key", "events", "active_users"
        ),
        NpsResponse.objects.order_by("account__external_id", "date").values_list(
            "account__external_id", "date", "score", "comment"
        ),
        ArrChange.objects.order_by("account__external_id", "date").values_list(
            "account__external_id", "date", "arr", "previous_arr"
        ),
        StatedDriver.objects.order_by("account__external_id", "feature__key").values_list(
            "account__external_id", "feature__key", "note"
        ),
    ]
    return hashlib.sha256(repr([list(rows) for rows in tables]).encode()).hexdigest()


def test_same_seed_gives_the_same_data_and_another_seed_other_data():
    seed()
    first = digest()
    seed("--reset")
    assert digest() == first
    call_command("seed_demo", "--accounts", "60", "--seed", "8", "--today", TODAY, "--reset", stdout=StringIO())
    assert digest() != first


def test_education_uses_the_product_a_few_days_around_term_starts_tech_sales_every_weekday():
    seed(accounts="120")
    active_days: dict[str, list[int]] = {}
    for row in (
        UsageDaily.objects.filter(account__churned_on__isnull=True)
        .values("account", "account__vertical__name")
        .annotate(days=Count("date", distinct=True))
    ):
        active_days.setdefault(row["account__vertical__name"], []).append(row["days"])
    education, tech_sales = statistics.median(active_days["Education"]), statistics.median(active_days["Tech Sales"])
    assert tech_sales > 120
    assert education < 40
    # Schools: most activity in the weeks around the start of a term (late Aug/Sep, Jan, Apr).
    education_usage = UsageDaily.objects.filter(account__vertical__name="Education")
    in_term_starts = education_usage.filter(date__month__in=[1, 4, 8, 9]).values("account", "date").distinct().count()
    assert in_term_starts > 0.8 * education_usage.values("account", "date").distinct().count()
    assert not UsageDaily.objects.filter(date__gt=dt.date.fromisoformat(TODAY)).exists()


def test_arr_is_spread_with_tech_sales_the_biggest_vertical():
    seed(accounts="120")
    by_vertical = dict(Account.objects.values_list("vertical__name").annotate(total=Sum("arr")))
    assert max(by_vertical, key=by_vertical.get) == "Tech Sales"
    arrs = sorted(Account.objects.values_list("arr", flat=True))
    assert arrs[-1] > 5 * statistics.median(arrs)  # a few big accounts
    assert Account.objects.filter(arr__gte=100000).exists() and Account.objects.filter(arr__lt=20000).exists()


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
        "Education",
        "Tech Sales",
        "Recruiting",
        "Customer Success",
        "Healthcare",
    }
    education = Scorecard.objects.get(vertical__name="Education")
    assert {m.metric for m in education.measures.all()} >= {"active_months_365d", "days_since_last_activity"}
    assert Segment.objects.count() >= 8
    assert Journey.objects.values("vertical").distinct().count() == 5
    assert ArrChange.objects.values("account").distinct().count() == Account.objects.count()
    assert ArrChange.objects.filter(previous_arr__isnull=False).exists()
    assert StatedDriver.objects.exists() and NpsResponse.objects.exists()
    for username in ("csm", "leader", "admin"):
        assert client.login(request=HttpRequest(), username=username, password="demo")  # axes wants a request
    # admin is staff, not superuser: the CS Admin group's permissions open the domain's admin pages.
    for url in ("/admin/accounts/account/", "/admin/health/scorecard/", "/admin/segments/segment/"):
        assert client.get(url).status_code == 200


def test_reseeding_needs_reset_and_if_empty_skips():
    seed()
    with pytest.raises(CommandError, match="use --reset"):
        seed()
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "already loaded" in out.getvalue()
    assert Account.objects.count() == 60


def test_bad_arguments_are_reported():
    with pytest.raises(CommandError, match="--today"):
        call_command("seed_demo", "--today", "2026-13-01")
    with pytest.raises(CommandError, match="--accounts"):
        call_command("seed_demo", "--accounts", "0")
