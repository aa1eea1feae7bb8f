from django.contrib import admin

from portal.teams import services
from portal.teams.models import Membership, Role, Team, TeamQuota


def _roles_in(membership: Membership) -> set[Role]:
    return {role for role in Role if getattr(membership, f"is_{role.value}")}


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

    def save_formset(self, request, form, formset, change):
        """Memberships and quotas edited inline go through the team services too, so they are audited."""
        if formset.model is Membership:
            changed = formset.save(commit=False)  # fills formset.deleted_objects too
            for obj in formset.deleted_objects:
                services.membership_remove(membership=obj, by=request.user)
            for obj in changed:
                services.membership_set(team=form.instance, user=obj.user, roles=_roles_in(obj), by=request.user)
        elif formset.model is TeamQuota and change:
            for obj in formset.save(commit=False):
                limits = {field: getattr(obj, field) for field in services.QUOTA_FIELDS}
                services.quota_update(team=form.instance, by=request.user, **limits)
        else:
            formset.save()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "is_researcher", "is_annotator", "is_reviewer", "is_team_admin")
    list_filter = ("team", "is_team_admin", "is_researcher", "is_annotator", "is_reviewer")
    search_fields = ("user__username", "team__name")
    list_select_related = ("user", "team")

    # Through the team services, so each change is audited (docs/reports.md "Audit log").
    def save_model(self, request, obj, form, change):
        saved = services.membership_set(team=obj.team, user=obj.user, roles=_roles_in(obj), by=request.user)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "team"):
            services.membership_remove(membership=membership, by=request.user)


@admin.register(TeamQuota)
class TeamQuotaAdmin(admin.ModelAdmin):
    list_display = ("team", "gpu_hours_per_month", "max_concurrent_gpus", "guaranteed_gpus", "updated_at")
    search_fields = ("team__name",)
    list_select_related = ("team",)

    def save_model(self, request, obj, form, change):
        limits = {field: getattr(obj, field) for field in services.QUOTA_FIELDS}
        services.quota_update(team=obj.team, by=request.user, **limits)
