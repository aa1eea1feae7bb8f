from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from portal.accounts.models import ApiToken, User
from portal.accounts.services import api_token_revoke


@admin.register(User)
class AtelierUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Preferences", {"fields": ("time_zone",)}),)
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "time_zone")
    actions = ["unlock_login"]

    @admin.action(description="Unlock login (forget failed attempts)")
    def unlock_login(self, request, queryset):
        """Lockouts by address are lifted under Axes › Access attempts (docs/security.md)."""
        forgotten = sum(axes_reset(username=user.username) for user in queryset)
        self.message_user(
            request,
            f"Unlocked {queryset.count()} account(s); {forgotten} failed-attempt record(s) removed.",
            messages.SUCCESS,
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "token_key", "created", "expiry", "last_used_at")
    readonly_fields = ("digest", "token_key", "created")
    search_fields = ("name", "user__username")
    list_select_related = ("user",)

    def delete_model(self, request, obj):
        api_token_revoke(token=obj, by=request.user)  # audited when it is not the admin's own token

    def delete_queryset(self, request, queryset):
        for token in queryset.select_related("user"):
            api_token_revoke(token=token, by=request.user)
