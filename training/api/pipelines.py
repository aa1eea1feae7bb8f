"""Pipelines over REST (docs/pipelines.md): a team's pipelines, their spec versions, and validating a spec
for the editor without saving it. An invalid spec saved is a 400 listing every problem under
`spec.<its path in the spec>`; the validate endpoint answers 200 with the same problems as data."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from portal.api.fields import WholeNumberField
from portal.teams.access import access_team_for_user
from training import access
from training.models import Pipeline, PipelineSpecVersion
from training.services import pipelines as pipeline_services

NO_SUCH_VERSION = "This pipeline has no spec version {number}."
SPEC_TEXT = serializers.CharField(
    max_length=300_000, trim_whitespace=False, help_text="the spec, YAML or JSON (at most 256 KiB)"
)


class PipelineCreateSerializer(serializers.Serializer):
    team = WholeNumberField(help_text="the team's id")
    name = serializers.CharField(max_length=200, allow_blank=True)
    spec = SPEC_TEXT


class SpecSerializer(serializers.Serializer):
    spec = SPEC_TEXT


class SpecValidateSerializer(serializers.Serializer):
    team = WholeNumberField(help_text="whose limits the spec is checked against")
    spec = serializers.CharField(max_length=300_000, trim_whitespace=False, allow_blank=True)


class SpecVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = PipelineSpecVersion
        fields = ["number", "content_hash", "created_by", "created_at"]


class SpecVersionDetailSerializer(SpecVersionSerializer):
    class Meta(SpecVersionSerializer.Meta):
        fields = [*SpecVersionSerializer.Meta.fields, "source", "document"]


class PipelineSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True, default=None)

    class Meta:
        model = Pipeline
        fields = ["id", "team", "team_name", "name", "owner", "last_version_number", "created_at"]


class PipelineDetailSerializer(PipelineSerializer):
    latest = serializers.SerializerMethodField()
    versions = SpecVersionSerializer(many=True, read_only=True)

    class Meta(PipelineSerializer.Meta):
        fields = [*PipelineSerializer.Meta.fields, "latest", "versions"]

    def get_latest(self, pipeline) -> dict | None:
        latest = pipeline.versions.order_by("-number").first()
        return SpecVersionDetailSerializer(latest).data if latest else None


class PipelineListView(ListAPIView):
    serializer_class = PipelineSerializer
    filterset_fields = ["team", "name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Pipeline.objects.none()
        return access.pipelines_visible_to(self.request.user).select_related("team", "owner")

    @extend_schema(
        request=PipelineCreateSerializer,
        responses={201: PipelineDetailSerializer},
        summary="Create a pipeline with its first spec version (400 lists every problem of the spec)",
    )
    def post(self, request):
        payload = PipelineCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        pipeline = pipeline_services.pipeline_create(
            user=request.user, team_id=data["team"], name=data["name"], text=data["spec"]
        )
        response = Response(PipelineDetailSerializer(pipeline).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/pipelines/{pipeline.pk}/"
        return response


class PipelineDetailView(GenericAPIView):
    serializer_class = PipelineDetailSerializer

    def get(self, request, pk: int):
        return Response(PipelineDetailSerializer(access.access_pipeline_for_user(request.user, pk)).data)


class SpecVersionListView(GenericAPIView):
    serializer_class = SpecVersionDetailSerializer

    @extend_schema(
        request=SpecSerializer,
        responses={201: SpecVersionDetailSerializer, 200: SpecVersionDetailSerializer},
        summary="Save a new spec version (200 with the latest when the document is the same)",
    )
    def post(self, request, pk: int):
        pipeline = access.access_pipeline_for_user(request.user, pk)
        payload = SpecSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version, created = pipeline_services.pipeline_spec_save(
            user=request.user, pipeline=pipeline, text=payload.validated_data["spec"]
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        response = Response(SpecVersionDetailSerializer(version).data, status=answer)
        response["Location"] = f"/api/v1/pipelines/{pipeline.pk}/versions/{version.number}/"
        return response


class SpecVersionDetailView(GenericAPIView):
    serializer_class = SpecVersionDetailSerializer

    def get(self, request, pk: int, number: int):
        pipeline = access.access_pipeline_for_user(request.user, pk)
        version = pipeline.versions.filter(number=number).first()
        if version is None:
            raise Http404(NO_SUCH_VERSION.format(number=number))
        return Response(SpecVersionDetailSerializer(version).data)


class SpecValidateView(GenericAPIView):
    serializer_class = SpecValidateSerializer

    @extend_schema(summary="Validate a spec against a team's limits without saving it (the editor's check)")
    def post(self, request):
        payload = SpecValidateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        access_team_for_user(request.user, data["team"])
        return Response(pipeline_services.spec_report(team_id=data["team"], text=data["spec"]))
