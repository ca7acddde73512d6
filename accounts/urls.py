from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_list, name="list"),
    path("export.csv", views.account_export, name="export"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("<int:pk>/drivers/", views.record_driver, name="record-driver"),
]
