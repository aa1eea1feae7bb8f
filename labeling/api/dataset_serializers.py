"""DRF serializers for datasets, items, slices and import jobs: translation only."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from labeling.models import Dataset, DatasetVersion, ImportFile, ImportJob, Item, Slice, VersionItem
from portal.api.fields import WholeNumberField


class DatasetSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = Dataset
        fields = [
            "id",
            "team",
            "team_name",
            "name",
            "description",
            "series",
            "label_schema",
            "item_count",
            "created_at",
        ]
        read_only_fields = ["item_count", "created_at"]


class DatasetCreateSerializer(serializers.Serializer):
    team = WholeNumberField()
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    series = WholeNumberField(required=False, allow_null=True, default=None)
    label_schema = serializers.JSONField(required=False, default=None)


class DatasetUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    label_schema = serializers.JSONField(required=False)


class SliceSerializer(serializers.ModelSerializer):
    dzi_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    original_url = serializers.SerializerMethodField()

    class Meta:
        model = Slice
        fields = [
            "id",
            "position",
            "offset_y",
            "width",
            "height",
            "sha256",
            "perceptual_hash",
            "near_duplicate_of",
            "source",
            "source_format",
            "source_detail",
            "original_name",
            "original_byte_size",
            "uploader",
            "created_at",
            "dzi_url",
            "thumbnail_url",
            "original_url",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_dzi_url(self, obj) -> str:
        return f"/api/v1/images/{obj.pk}/tiles/image.dzi"

    @extend_schema_field(OpenApiTypes.STR)
    def get_thumbnail_url(self, obj) -> str:
        return f"/api/v1/images/{obj.pk}/thumbnail/"

    @extend_schema_field(OpenApiTypes.STR)
    def get_original_url(self, obj) -> str:
        return f"/api/v1/images/{obj.pk}/original/"


class ItemSerializer(serializers.ModelSerializer):
    slices = SliceSerializer(many=True, read_only=True)

    class Meta:
        model = Item
        fields = [
            "id",
            "dataset",
            "kind",
            "name",
            "status",
            "episode_number",
            "width",
            "height",
            "slice_count",
            "near_duplicate",
            "created_at",
            "slices",
        ]


class ImportFileSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="slice.item_id", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ImportFile
        fields = [
            "position",
            "display_name",
            "outcome",
            "code",
            "reason",
            "slice",
            "item",
            "duplicate_of",
            "near_duplicate_of",
        ]


class ImportJobSerializer(serializers.ModelSerializer):
    files = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "dataset",
            "kind",
            "state",
            "progress",
            "total",
            "accepted",
            "refused",
            "duplicates",
            "near_duplicates",
            "skipped",
            "ignored",
            "detail",
            "as_episode",
            "episode_item",
            "source_detail",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "files",
        ]

    @extend_schema_field(ImportFileSerializer(many=True))
    def get_files(self, obj):
        files = obj.files.select_related("slice").order_by("position")
        return ImportFileSerializer(files, many=True).data


class UploadSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), allow_empty=True, required=False)
    as_episode = serializers.BooleanField(required=False, default=False)
    episode_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class ImportRequestSerializer(serializers.Serializer):
    archive = serializers.FileField(required=False, allow_empty_file=True)
    url = serializers.CharField(required=False, max_length=2000)
    folder = serializers.CharField(required=False, max_length=1000)
    as_episode = serializers.BooleanField(required=False, default=False)
    episode_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class VersionSerializer(serializers.ModelSerializer):
    flagged = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "dataset",
            "number",
            "note",
            "seed",
            "ratios",
            "content_hash",
            "stats",
            "flagged",
            "leaks",
            "created_by",
            "created_at",
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_flagged(self, obj) -> bool:
        """True when train and test share exact or near duplicates (listed in `leaks`)."""
        return bool(obj.leaks)


class VersionCreateSerializer(serializers.Serializer):
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**62)
    ratios = serializers.JSONField(required=False, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class VersionItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = VersionItem
        fields = ["id", "item", "split", "snapshot"]


class SplitMoveSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    to = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField()  # a Python keyword, so not a class attribute
        return fields


class IdChangesSerializer(serializers.Serializer):
    """Ids of shapes (or relations) added, removed and changed in one item's frozen annotation."""

    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = serializers.ListField(child=serializers.CharField())


class StatusChangeSerializer(serializers.Serializer):
    to = serializers.CharField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(allow_null=True)
        return fields


class ItemChangeSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    name = serializers.CharField()
    image_changed = serializers.BooleanField()
    annotation_status = StatusChangeSerializer()
    shapes = IdChangesSerializer()
    relations = IdChangesSerializer()


class ShapeTotalsSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    changed = serializers.IntegerField()


class VersionDiffSerializer(serializers.Serializer):
    base = serializers.IntegerField()
    other = serializers.IntegerField()
    added = serializers.ListField(child=serializers.IntegerField())
    removed = serializers.ListField(child=serializers.IntegerField())
    changed = serializers.ListField(child=serializers.IntegerField())
    item_changes = ItemChangeSerializer(many=True)
    split_changed = SplitMoveSerializer(many=True)
    shapes = ShapeTotalsSerializer(
        help_text="Shapes added, removed, changed over all items (an added item's shapes count as added)."
    )
