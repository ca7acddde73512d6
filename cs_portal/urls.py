from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.admin_usage import usage_list_view
from configuration import views as configuration_views
from cs_portal import views
from dashboards.urls import account_urls, home_urls, journey_urls, segment_urls
from people import views as people_views
from people.roles import role_not_required

admin.site.site_header = "CS Portal administration"
admin.site.site_title = "CS Portal admin"
admin.site.index_title = "Rules, data and operations"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True,
            extra_context={
                "failure_limit": settings.AXES_FAILURE_LIMIT,
                "cooloff_minutes": settings.AXES_COOLOFF_MINUTES,
            },
        ),
        name="login",
    ),
    path("logout/", role_not_required(auth_views.LogoutView.as_view()), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    *home_urls,
    path("profile/", people_views.profile, name="profile"),
    path("profile/tokens/<int:token_id>/revoke/", people_views.revoke_token, name="revoke-token"),
    path("accounts/", include(account_urls)),
    path("", include("plays.urls")),
    path("segments/", include(segment_urls)),
    path("", include("dashboards.urls")),
    path("journeys/", include(journey_urls)),
    path("api/", include("cs_portal.api.urls")),
    path("scorecards/", include("health.urls")),
    path("backtest/tune/<int:scorecard_id>/", configuration_views.tune_page, name="backtest-tune"),
    path("admin/config/", include("configuration.admin_urls")),
    # UsageDaily has a composite primary key, which 5.2's admin can't register: a plain view instead.
    path("admin/accounts/usagedaily/", admin.site.admin_view(usage_list_view), name="admin-usage"),
    path("admin/", admin.site.urls),
]

handler404 = "cs_portal.views.not_found"
handler500 = "cs_portal.views.server_error"
