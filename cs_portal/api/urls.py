"""The REST API under /api/v1/, its OpenAPI schema and docs (served from our static files)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api

router = DefaultRouter()
router.register("verticals", accounts_api.VerticalViewSet)
router.register("use-cases", accounts_api.UseCaseViewSet)
router.register("features", accounts_api.FeatureViewSet)
router.register("tiers", accounts_api.TierViewSet)

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
