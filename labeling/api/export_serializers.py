"""Serializers for export jobs and annotation imports: translation only (checks live in the services)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.models import ExportJob, ExportState


class ExportJobSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "dataset",
            "version",
            "format",
            "options",
            "state",
            "progress",
            "items_total",
            "items_done",
            "counts",
            "file_size",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_download_url(self, obj) -> str | None:
        return f"/api/v1/export-jobs/{obj.pk}/download/" if obj.state == ExportState.SUCCEEDED else None


class ExportCreateSerializer(serializers.Serializer):
    """`format` and `options` are checked by labeling.formats.options (errors name `options.<name>`)."""

    format = serializers.CharField(help_text="coco, yolo, voc or label_studio")
    options = serializers.JSONField(
        required=False,
        default=dict,
        help_text=(
            "include_images (bool), layout (slices | stitched), splits (list of train/val/test); "
            "YOLO: tile_height (px), task (detect | segment); Label Studio: image_url_prefix"
        ),
    )


class AnnotationImportSerializer(serializers.Serializer):
    format = serializers.CharField(help_text="coco, yolo or label_studio")
    file = serializers.FileField(help_text="COCO or Label Studio JSON, or a zip (YOLO: data.yaml + labels)")


class AnnotationImportResultSerializer(serializers.Serializer):
    items = serializers.IntegerField()
    shapes = serializers.IntegerField()
    relations = serializers.IntegerField()
    tasks_created = serializers.IntegerField()
