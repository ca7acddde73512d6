"""The membership history (read-only list)."""

from django.contrib import admin

from segments.models import SegmentMembership


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ("segment", "account", "entered_on", "left_on")
    list_filter = ("segment", ("left_on", admin.EmptyFieldListFilter))
    search_fields = ("account__name", "account__external_id")
    list_select_related = ("segment", "account")
    raw_id_fields = ("account",)
