"""URLs of the pages. Each list keeps the namespace the templates reverse (accounts:, segments:, …)."""

from django.urls import path

from dashboards.views import accounts, backtest, home, journeys, leaders, segments

app_name = "dashboards"

urlpatterns = [
    path("verticals/", leaders.verticals, name="verticals"),
    path("verticals/<slug:slug>/", leaders.vertical_detail, name="vertical"),
    path("revenue/", leaders.revenue, name="revenue"),
    path("risk/", leaders.risk, name="risk"),
    path("backtest/", backtest.backtest_page, name="backtest"),
]

home_urls = [path("", home.home, name="home")]

account_urls = (
    [
        path("", accounts.account_list, name="list"),
        path("export.csv", accounts.account_export, name="export"),
        path("<int:pk>/", accounts.account_detail, name="detail"),
        path("<int:pk>/drivers/", accounts.record_driver, name="record-driver"),
    ],
    "accounts",
)

segment_urls = (
    [
        path("", segments.segment_list, name="list"),
        path("<slug:slug>/", segments.segment_detail, name="detail"),
        path("<slug:slug>/export.csv", segments.segment_export, name="export"),
    ],
    "segments",
)

journey_urls = ([path("", journeys.journey_overview, name="overview")], "journeys")
