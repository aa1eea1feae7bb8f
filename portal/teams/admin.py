from django.contrib import admin

from portal.teams.models import Membership, Team, TeamQuota


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class TeamQuotaInline(admin.StackedInline):
    model = TeamQuota
    can_delete = False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [TeamQuotaInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "is_researcher", "is_annotator", "is_reviewer", "is_team_admin")
    list_filter = ("team", "is_team_admin", "is_researcher", "is_annotator", "is_reviewer")
    search_fields = ("user__username", "team__name")
    list_select_related = ("user", "team")


@admin.register(TeamQuota)
class TeamQuotaAdmin(admin.ModelAdmin):
    list_display = ("team", "gpu_hours_per_month", "max_concurrent_gpus", "guaranteed_gpus", "updated_at")
    search_fields = ("team__name",)
    list_select_related = ("team",)
