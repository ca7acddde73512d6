"""Bugs found in the review of #4 and #5, each pinned by the test that failed before its fix."""

import datetime as dt
import json
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import AccountFactory, FeatureFactory, HealthScoreFactory, usage

pytestmark = pytest.mark.django_db


def figure(body: str, element_id: str) -> dict:
    match = re.search(rf'id="{element_id}"[^>]*data-figure="([^"]*)"', body)
    assert match, f"no figure #{element_id}"
    return json.loads(unescape(match.group(1)))


def test_account_usage_chart_ends_on_the_day_of_the_results(client_for, csm):
    """The page is 'as of' its latest results; the usage chart covered the 90 days up to today instead,
    so with results older than today it showed a different window from the heatmap and say vs do."""
    day = timezone.localdate() - dt.timedelta(days=120)
    account = AccountFactory()
    HealthScoreFactory(account=account, as_of=day, score=50, band="neutral")
    usage(account, FeatureFactory(key="scheduling"), day - dt.timedelta(days=10), events=7)
    body = client_for(csm).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    chart = figure(body, "usage-chart")
    assert chart["layout"]["xaxis"]["range"] == [(day - dt.timedelta(days=89)).isoformat(), day.isoformat()]
    assert chart["data"][0]["y"] == [7]
