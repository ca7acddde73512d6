"""Admin pages of the configuration file, mounted under /admin/config/ (staff login required)."""

from django.contrib import admin
from django.urls import path

from configuration import admin_views

urlpatterns = [
    path("", admin.site.admin_view(admin_views.config_view), name="admin-config"),
    path("download/", admin.site.admin_view(admin_views.download_view), name="admin-config-download"),
]
