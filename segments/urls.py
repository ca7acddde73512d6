from django.urls import path

from segments import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="list"),
    path("<slug:slug>/", views.segment_detail, name="detail"),
    path("<slug:slug>/export.csv", views.segment_export, name="export"),
]
