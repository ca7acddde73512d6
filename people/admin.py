from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from people.models import User


@admin.register(User)
class TeamUserAdmin(UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "role_list")
    list_filter = ("groups", "is_staff", "is_active")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def role_list(self, obj):
        return ", ".join(g.name for g in obj.groups.all())
