from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("verticals/", views.verticals, name="verticals"),
    path("verticals/<slug:slug>/", views.vertical_detail, name="vertical"),
    path("revenue/", views.revenue, name="revenue"),
    path("risk/", views.risk, name="risk"),
]
