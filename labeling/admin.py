"""Admin: datasets and series are edited here; imports and versions are read-only records."""

from django.contrib import admin

from labeling.models import (
    Annotation,
    AnnotationRevision,
    Character,
    Dataset,
    DatasetVersion,
    ExportJob,
    ImportFile,
    ImportJob,
    Item,
    ItemClass,
    Prediction,
    Review,
    Series,
    Slice,
    Task,
    VersionItem,
)
from portal.readonly_admin import ReadOnlyAdmin as BaseReadOnlyAdmin


class CharacterInline(admin.TabularInline):
    model = Character
    extra = 1


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["title"]
    list_select_related = ["team"]
    ordering = ["title"]
    inlines = [CharacterInline]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "item_count", "created_at"]
    list_filter = ["team"]
    readonly_fields = ["item_count"]
    search_fields = ["name", "description"]
    list_select_related = ["team"]
    ordering = ["name"]


class ReadOnlyAdmin(BaseReadOnlyAdmin):
    """What happened is recorded by the services; the admin only shows it (and may delete a record)."""

    has_delete_permission = admin.ModelAdmin.has_delete_permission


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "dataset", "kind", "state", "accepted", "refused", "duplicates", "created_at"]
    list_filter = ["state", "kind", "dataset__team", "created_at"]
    search_fields = ["dataset__name", "created_by__username"]
    list_select_related = ["dataset"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnlyAdmin):
    list_display = ["dataset", "number", "content_hash", "created_by", "created_at"]
    list_filter = ["dataset__team", "created_at"]
    search_fields = ["dataset__name", "note", "content_hash"]
    list_select_related = ["dataset", "created_by"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


class RecordAdmin(ReadOnlyAdmin):
    """Append-only or service-owned rows: no delete either (the services keep counts and history)."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin):
    list_display = ["name", "series"]
    list_filter = ["series__team"]
    search_fields = ["name", "series__title"]
    list_select_related = ["series"]
    ordering = ["series__title", "name"]


@admin.register(Item)
class ItemAdmin(RecordAdmin):
    """Items are added by imports and change through the dataset's pages."""

    list_display = ["name", "dataset", "kind", "status", "width", "height", "slice_count", "created_at"]
    list_filter = ["kind", "status", "dataset__team", "created_at"]
    search_fields = ["name", "dataset__name"]
    list_select_related = ["dataset"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(Slice)
class SliceAdmin(RecordAdmin):
    list_display = ["item", "position", "width", "height", "byte_size", "source_format", "uploader", "created_at"]
    list_filter = ["source_format", "dataset__team", "created_at"]
    search_fields = ["original_name", "sha256", "item__name"]
    list_select_related = ["item", "uploader"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(ImportFile)
class ImportFileAdmin(RecordAdmin):
    list_display = ["display_name", "job", "outcome", "code", "reason"]
    list_filter = ["outcome", "code"]
    search_fields = ["display_name", "reason"]
    list_select_related = ["job__dataset"]
    ordering = ["-id"]


@admin.register(VersionItem)
class VersionItemAdmin(RecordAdmin):
    list_display = ["version", "item", "split"]
    list_filter = ["split"]
    search_fields = ["item__name", "version__dataset__name"]
    list_select_related = ["version__dataset", "item"]
    ordering = ["-id"]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "dataset",
        "version",
        "format",
        "state",
        "items_done",
        "items_total",
        "created_by",
        "created_at",
    ]
    list_filter = ["state", "format", "dataset__team", "created_at"]
    search_fields = ["dataset__name", "created_by__username"]
    list_select_related = ["dataset", "version__dataset", "created_by"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(Task)
class TaskAdmin(RecordAdmin):
    """Tasks are assigned, submitted and reviewed through the labeling services."""

    list_display = ["id", "item", "dataset", "assignee", "status", "assigned_at", "submitted_at", "reviewed_by"]
    list_filter = ["status", "dataset__team", "dataset", "submitted_at"]
    search_fields = ["item__name", "assignee__username", "dataset__name"]
    list_select_related = ["item", "dataset", "assignee", "reviewed_by"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(Annotation)
class AnnotationAdmin(RecordAdmin):
    list_display = ["task", "version", "updated_by", "updated_at"]
    list_filter = ["updated_at"]
    search_fields = ["task__item__name", "updated_by__username"]
    list_select_related = ["task", "updated_by"]
    exclude = ["shapes", "relations"]
    ordering = ["-updated_at"]


@admin.register(AnnotationRevision)
class AnnotationRevisionAdmin(RecordAdmin):
    list_display = ["task", "item", "version", "author", "source", "created_at"]
    list_filter = ["source", "created_at"]
    search_fields = ["item__name", "author__username"]
    list_select_related = ["task", "item", "author"]
    exclude = ["shapes", "relations"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(Review)
class ReviewAdmin(RecordAdmin):
    list_display = ["task", "reviewer", "decision", "comment", "created_at"]
    list_filter = ["decision", "created_at"]
    search_fields = ["reviewer__username", "comment"]
    list_select_related = ["task", "reviewer"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(ItemClass)
class ItemClassAdmin(RecordAdmin):
    list_display = ["item", "dataset", "class_name"]
    list_filter = ["class_name"]
    search_fields = ["class_name", "item__name"]
    list_select_related = ["item", "dataset"]
    ordering = ["-id"]


@admin.register(Prediction)
class PredictionAdmin(RecordAdmin):
    """Written once per run and item by the pre-label ingest (labeling/services/predictions.py)."""

    list_display = ["item", "model_ref", "run_ref", "shape_count", "created_at"]
    list_filter = ["item__dataset__team", "created_at"]
    search_fields = ["item__name", "model_ref", "run_ref"]
    list_select_related = ["item"]
    exclude = ["shapes"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
