"""The pipeline tests' shared world: four Education accounts with 0, 3, 6 and 9 days of usage up to
D, one scorecard on active days and two segments (Busy claims the high touch model, All the mid one)."""

import datetime as dt

import pytest

from configuration.services import config_apply
from tests.factories import AccountFactory, FeatureFactory, VerticalFactory, usage

D = dt.date(2026, 6, 30)


@pytest.fixture
def world():
    f = FeatureFactory(key="scheduling")
    vertical = VerticalFactory(name="Education")
    accounts = [AccountFactory(vertical=vertical, arr=1000 * (i + 1)) for i in range(4)]
    for i, a in enumerate(accounts):
        for n in range(i * 3):
            usage(a, f, D - dt.timedelta(days=n), events=n + 1)
    config_apply(
        document={
            "version": 1,
            "scorecards": [
                {"name": "Any", "measures": [{"metric": "active_days_30d", "weight": 1, "red": 0, "green": 6}]}
            ],
            "segments": [
                {
                    "name": "Busy",
                    "touch_model": "high",
                    "priority": 5,
                    "rule": {"field": "active_days_30d", "op": "gte", "value": 3},
                },
                {"name": "All", "touch_model": "mid", "priority": 1, "rule": {"field": "arr", "op": "gte", "value": 0}},
            ],
        }
    )
    return f, accounts
