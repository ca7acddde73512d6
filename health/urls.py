from django.urls import path

from health import views

app_name = "health"

urlpatterns = [
    path("", views.scorecards, name="scorecards"),
    path("<int:pk>/", views.scorecard_detail, name="scorecard"),
]
