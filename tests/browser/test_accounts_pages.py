import datetime as dt

import pytest

from tests.factories import AccountFactory, UsageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_csm_logs_in_filters_and_opens_an_account_with_chart(page, live_server, login, csm, console_errors):
    # A CSM's list opens on their own accounts ("My accounts").
    lincoln = AccountFactory(name="Lincoln High", owner=csm)
    AccountFactory(name="Acme Sales", owner=csm)
    AccountFactory(name="Someone Else's")

    for offset in range(5):
        UsageFactory(account=lincoln, date=dt.date.today() - dt.timedelta(days=offset * 3), events=4)

    login("csm")
    page.goto(f"{live_server.url}/accounts/")
    assert page.locator("table tbody tr").count() == 2
    page.fill("input[name=q]", "lincoln")
    page.press("input[name=q]", "Enter")
    page.wait_for_function("document.querySelectorAll('#account-table tbody tr').length === 1")
    page.click("text=Lincoln High")
    page.wait_for_selector("#usage-chart .main-svg")
    assert page.locator("#usage-chart .bars .point").count() >= 5
    assert console_errors == []
