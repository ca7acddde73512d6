"""The REST API under /api/v1/, its OpenAPI schema and docs (served from our static files, for
signed-in team members only)."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts import api_ingest
from configuration import api as config_api
from dashboards import api as dashboards_api
from dashboards.api_backtest import BacktestReportView
from pipeline import api as pipeline_api
from plays import api as plays_api

router = DefaultRouter()
router.register("verticals", config_api.VerticalViewSet)
router.register("use-cases", config_api.UseCaseViewSet)
router.register("features", config_api.FeatureViewSet)
router.register("tiers", config_api.TierViewSet)
router.register("accounts", dashboards_api.AccountViewSet, basename="account")
router.register("segments", config_api.SegmentViewSet, basename="segment")
router.register("scorecards", config_api.ScorecardViewSet, basename="scorecard")
router.register("journeys", config_api.JourneyViewSet, basename="journey")
router.register("recompute", pipeline_api.RecomputeViewSet, basename="recompute")
router.register("tasks", plays_api.TaskViewSet, basename="task")
router.register("notes", plays_api.NoteViewSet, basename="note")
router.register("firings", plays_api.FiringViewSet, basename="firing")
router.register("plays", config_api.PlayViewSet, basename="play")

urlpatterns = [
    path("v1/accounts/bulk/", api_ingest.AccountBulkUpsertView.as_view(), name="api-accounts-bulk"),
    path("v1/usage/", api_ingest.UsageIngestView.as_view(), name="api-usage"),
    path("v1/nps/", api_ingest.NpsIngestView.as_view(), name="api-nps"),
    path("v1/config/", config_api.ConfigView.as_view(), name="api-config"),
    path("v1/reports/revenue/", dashboards_api.RevenueReportView.as_view(), name="api-revenue"),
    # Before the router: the verticals' own routes (verticals/<slug>/) would not match …/summary/ anyway.
    path("v1/verticals/<slug:slug>/summary/", dashboards_api.VerticalSummaryView.as_view(), name="vertical-summary"),
    path("v1/reports/backtest/", BacktestReportView.as_view(), name="api-backtest"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Behind login (people.api_auth.IsTeamMember via SERVE_PERMISSIONS; the docs page redirects a
    # browser to the login page). The split view serves its script as a file: no inline script (CSP).
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]
