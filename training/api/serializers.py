"""DRF serializers of the model registry: translation only."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.fields import WholeNumberField
from training.models import AliasMove, CheckpointFormat, ModelAlias, ModelFile, ModelVersion, RegisteredModel
from training.selectors.lineage import model_version_lineage

Tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list, max_length=50)


class ModelFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelFile
        fields = ["role", "name", "sha256", "byte_size"]


class LineageJobSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True)
    ended_at = serializers.DateTimeField(read_only=True, allow_null=True)


class LineageDatasetVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.IntegerField(read_only=True)
    note = serializers.CharField(read_only=True)
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)


class ModelVersionLineageSerializer(serializers.Serializer):
    """A model version's chain back: the job that produced it and the dataset version it read."""

    job = LineageJobSerializer(read_only=True, allow_null=True)
    dataset_version = LineageDatasetVersionSerializer(read_only=True, allow_null=True)


class ModelVersionSerializer(serializers.ModelSerializer):
    files = ModelFileSerializer(many=True, read_only=True)
    aliases = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    registered_by = serializers.CharField(source="registered_by.username", read_only=True, default=None)

    class Meta:
        model = ModelVersion
        fields = [
            "number",
            "format",
            "params",
            "metrics",
            "tags",
            "dataset_version",
            "job",
            "files",
            "aliases",
            "registered_by",
            "registered_at",
            "lineage",
        ]

    lineage = serializers.SerializerMethodField()

    @extend_schema_field(ModelVersionLineageSerializer)
    def get_lineage(self, version: ModelVersion) -> dict:
        return ModelVersionLineageSerializer(model_version_lineage(model_version=version)).data


class LineageModelVersionSerializer(serializers.ModelSerializer):
    model_name = serializers.CharField(source="model.name", read_only=True)
    aliases = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = ModelVersion
        fields = ["model", "model_name", "number", "job", "aliases", "metrics", "registered_at"]


class LineageJobEntrySerializer(serializers.Serializer):
    job = LineageJobSerializer(read_only=True)
    inputs = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="The names of the job's inputs that carry the version."
    )
    model_versions = LineageModelVersionSerializer(many=True, read_only=True)


class DatasetVersionLineageSerializer(serializers.Serializer):
    dataset_version = LineageDatasetVersionSerializer(source="version", read_only=True)
    jobs = LineageJobEntrySerializer(many=True, read_only=True)
    model_versions = LineageModelVersionSerializer(
        many=True, read_only=True, help_text="Which models learned from this version, newest first."
    )


class ModelAliasSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)

    class Meta:
        model = ModelAlias
        fields = ["name", "version", "updated_at"]


class AliasMoveSerializer(serializers.ModelSerializer):
    moved_by = serializers.CharField(source="moved_by.username", read_only=True, default=None)

    class Meta:
        model = AliasMove
        fields = ["alias", "from_number", "to_number", "moved_by", "moved_at"]


class RegisteredModelSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = RegisteredModel
        fields = ["id", "team", "team_name", "name", "description", "tags", "created_at"]


class RegisteredModelDetailSerializer(RegisteredModelSerializer):
    aliases = ModelAliasSerializer(many=True, read_only=True)
    alias_history = AliasMoveSerializer(source="alias_moves", many=True, read_only=True)

    class Meta(RegisteredModelSerializer.Meta):
        fields = [*RegisteredModelSerializer.Meta.fields, "aliases", "alias_history"]


class ModelCreateSerializer(serializers.Serializer):
    team = WholeNumberField()
    name = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    tags = Tags


class VersionRegisterSerializer(serializers.Serializer):
    job = WholeNumberField(help_text="The succeeded job whose outputs hold the files.")
    checkpoint = serializers.CharField(max_length=1000, help_text="Path relative to the job's outputs folder.")
    format = serializers.ChoiceField(choices=CheckpointFormat.choices, default=CheckpointFormat.STATE_DICT)
    metrics_file = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    config_file = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    dataset_version = WholeNumberField(
        required=False, allow_null=True, default=None, help_text="Must be the version the job's inputs name."
    )
    params = serializers.DictField(required=False, default=dict)
    tags = Tags


class AliasMoveRequestSerializer(serializers.Serializer):
    version = WholeNumberField(help_text="The number of a version of this model.")
