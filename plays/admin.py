"""Admin of what plays did: firings, tasks, notes, deliveries with every attempt and "resend".

The Play admin itself (validated like the config document, previewed, audited) lives with the
other rule admins in configuration/admin/plays.py.
"""

from django.contrib import admin, messages

from core.paginators import CappedCountPaginator
from people.roles import is_admin
from plays import services
from plays.models import Delivery, DeliveryAttempt, PlayFiring, Task, TimelineNote


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("at", "ok", "status_code", "latency_ms", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.action(description="Resend the selected deliveries (same payload and idempotency key)")
def resend(modeladmin, request, queryset):
    n = 0
    for delivery in queryset:
        services.delivery_resend(delivery=delivery)
        n += 1
    modeladmin.message_user(request, f"{n} deliver{'y' if n == 1 else 'ies'} queued again.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "firing", "kind", "status", "attempts", "last_error")
    list_filter = ("status", "firing__play")
    search_fields = ("firing__account__name", "firing__account__external_id", "key")
    list_select_related = ("firing__play", "firing__account")
    readonly_fields = (
        "firing",
        "kind",
        "key",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "delivered_at",
        "payload",
    )
    exclude = ("channel",)  # an Apprise URL holds its tokens: the admin shows the kind only
    inlines = [DeliveryAttemptInline]
    actions = [resend]
    paginator = CappedCountPaginator

    def has_change_permission(self, request, obj=None):
        return is_admin(request.user)  # for the resend action; every field is read-only


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "delivery", "ok", "status_code", "latency_ms", "error")
    list_filter = ("ok", "status_code")
    list_select_related = ("delivery",)
    paginator = CappedCountPaginator


@admin.register(PlayFiring)
class PlayFiringAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("day", "play", "account", "why", "task")
    list_filter = ("play", "day")
    search_fields = ("account__name", "account__external_id", "why")
    list_select_related = ("play", "account", "task")
    readonly_fields = ("play", "account", "day", "why", "facts", "task", "created_at")
    paginator = CappedCountPaginator


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("title", "account", "play", "assignee", "due_date", "priority", "status", "closed_by", "closed_at")
    list_filter = ("status", "priority", "play")
    search_fields = ("title", "account__name", "account__external_id")
    list_select_related = ("account", "play", "assignee", "closed_by")
    raw_id_fields = ("account", "assignee", "closed_by", "created_by")
    readonly_fields = ("why", "created_at", "updated_at")
    paginator = CappedCountPaginator


@admin.register(TimelineNote)
class TimelineNoteAdmin(admin.ModelAdmin):
    list_display = ("date", "account", "kind", "author", "text")
    list_filter = ("kind",)
    search_fields = ("text", "account__name")
    list_select_related = ("account", "author")
    raw_id_fields = ("account", "author")
