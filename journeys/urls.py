from django.urls import path

from journeys import views

app_name = "journeys"

urlpatterns = [
    path("", views.journey_overview, name="overview"),
]
