"""Admin: datasets and series are edited here; imports and versions are read-only records."""

from django.contrib import admin

from labeling.models import Character, Dataset, DatasetVersion, ImportJob, Series


class CharacterInline(admin.TabularInline):
    model = Character
    extra = 1


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["title", "team"]
    inlines = [CharacterInline]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "item_count", "created_at"]
    list_filter = ["team"]
    readonly_fields = ["item_count"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """What happened is recorded by the services; the admin only shows it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "dataset", "kind", "state", "accepted", "refused", "duplicates", "created_at"]
    list_filter = ["state", "kind"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnlyAdmin):
    list_display = ["dataset", "number", "content_hash", "created_at"]
