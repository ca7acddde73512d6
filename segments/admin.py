from django.contrib import admin

from configuration.admin import AuditedAdminMixin
from segments.models import Segment, SegmentMembership


@admin.register(Segment)
class SegmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    audit_kind = "segments"  # saves, deletes, history and revert: configuration/admin.py
    list_display = ("name", "touch_model", "priority", "active", "updated_at")
    list_filter = ("active", "touch_model")
    search_fields = ("name", "description")


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ("segment", "account", "entered_on", "left_on")
    list_filter = ("segment", ("left_on", admin.EmptyFieldListFilter))
    search_fields = ("account__name", "account__external_id")
    list_select_related = ("segment", "account")
    raw_id_fields = ("account",)
