from django.urls import path

from dashboards import backtest_views, views

app_name = "dashboards"

urlpatterns = [
    path("verticals/", views.verticals, name="verticals"),
    path("verticals/<slug:slug>/", views.vertical_detail, name="vertical"),
    path("revenue/", views.revenue, name="revenue"),
    path("risk/", views.risk, name="risk"),
    path("backtest/", backtest_views.backtest_page, name="backtest"),
    path("backtest/tune/<int:scorecard_id>/", backtest_views.tune_page, name="backtest-tune"),
]
