"""Jobs that train on a dataset version, over REST (docs/models.md "Inputs staged for jobs"): submitted
with 202 and a Location to their staging, which says when the job itself exists."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from portal.api.fields import WholeNumberField
from scheduler.api.job_serializers import JobSubmitSerializer
from training import access
from training.models import InputStaging
from training.services import staging as staging_services


class StagedJobSubmitSerializer(JobSubmitSerializer):
    dataset_version = WholeNumberField(help_text="the dataset version the job trains on (its id)")
    export_format = serializers.CharField(required=False, default=staging_services.DEFAULT_FORMAT)
    export_options = serializers.DictField(
        required=False,
        default=None,
        allow_null=True,
        help_text='labeling\'s export options (docs/exports.md); default {"include_images": true}',
    )
    register_as = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="when the job succeeds, register its model.pt (and metrics.json) as a version of this model",
    )


class StagingSerializer(serializers.ModelSerializer):
    dataset_version_ref = serializers.SerializerMethodField()
    export_state = serializers.CharField(source="export.state", read_only=True, default=None)
    export_progress = serializers.FloatField(source="export.progress", read_only=True, default=None)
    model_version = serializers.IntegerField(source="model_version.number", read_only=True, default=None)
    model = serializers.IntegerField(source="model_version.model_id", read_only=True, default=None)

    class Meta:
        model = InputStaging
        fields = [
            "id",
            "state",
            "team",
            "dataset_version",
            "dataset_version_ref",
            "export_format",
            "export_options",
            "export",
            "export_state",
            "export_progress",
            "reused_export",
            "job",
            "error",
            "register_as",
            "model",
            "model_version",
            "register_error",
            "created_at",
            "finished_at",
        ]

    def get_dataset_version_ref(self, staging) -> str:
        return f"labeling:version:{staging.dataset_version_id}"


class StagedJobListView(ListAPIView):
    serializer_class = StagingSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InputStaging.objects.none()
        return access.stagings_visible_to(self.request.user).select_related("export", "model_version")

    @extend_schema(
        request=StagedJobSubmitSerializer,
        responses={202: StagingSerializer},
        summary="Submit a job that trains on a dataset version: its export is staged first, then the job submitted",
    )
    def post(self, request):
        payload = StagedJobSubmitSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        data.pop("reservation", None)
        version_id = data.pop("dataset_version")
        export_format, export_options = data.pop("export_format"), data.pop("export_options")
        register_as = data.pop("register_as")
        data["team_id"], data["booking_id"] = data.pop("team"), data.pop("booking")
        with payload.booking_errors_named_as_sent():
            staging = staging_services.staged_job_submit(
                user=request.user,
                dataset_version_id=version_id,
                export_format=export_format,
                export_options=export_options,
                register_as=register_as,
                job=data,
            )
        response = Response(StagingSerializer(staging).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/staged-jobs/{staging.pk}/"
        return response


class StagedJobDetailView(GenericAPIView):
    serializer_class = StagingSerializer

    def get(self, request, pk: int):
        return Response(StagingSerializer(access.access_staging_for_user(request.user, pk)).data)
