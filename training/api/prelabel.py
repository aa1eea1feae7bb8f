"""Pre-label runs over REST (docs/models.md "Pre-label runs"): started with 202 and a Location to the run,
which says its job, state and progress."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from labeling.selectors.item_scopes import SCOPES
from portal.api.fields import WholeNumberField
from training import access
from training.models import PrelabelRun
from training.services import prelabel as prelabel_services


class PrelabelRunStartSerializer(serializers.Serializer):
    model = WholeNumberField(help_text="the registered model (its id)")
    version = WholeNumberField(required=False, default=None, allow_null=True, help_text="the version's number")
    alias = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=64, help_text="or an alias, resolved at start"
    )
    dataset = WholeNumberField(help_text="the dataset whose items are pre-labelled (its id)")
    scope = serializers.ChoiceField(
        choices=SCOPES,
        required=False,
        default="all",
        help_text="which items: all, untasked (without a task), filter (the grid's), selection (`items`)",
    )
    filter = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=200),
        required=False,
        default=dict,
        help_text="the dataset grid's query parameters (status, kind, near_duplicate, class, tag, annotator)",
    )
    items = serializers.ListField(child=WholeNumberField(), required=False, default=list, max_length=100_000)
    dataset_version = WholeNumberField(
        required=False, default=None, allow_null=True, help_text="only the items of this version of the dataset"
    )
    threshold = serializers.FloatField(required=False, default=0.3, min_value=0.0, max_value=1.0)
    classes = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, max_length=200
    )
    gpus = serializers.IntegerField(required=False, default=prelabel_services.DEFAULT_GPUS, min_value=0, max_value=64)
    time_limit = serializers.DurationField(required=False, default=prelabel_services.DEFAULT_TIME_LIMIT)


class PrelabelRunSerializer(serializers.ModelSerializer):
    model = serializers.IntegerField(source="model_version.model_id", read_only=True)
    version = serializers.IntegerField(source="model_version.number", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = PrelabelRun
        fields = [
            "id",
            "state",
            "team",
            "model",
            "version",
            "alias",
            "dataset",
            "threshold",
            "classes",
            "item_set",
            "job",
            "items_total",
            "items_ingested",
            "progress",
            "summary",
            "error",
            "created_at",
            "finished_at",
        ]

    def get_progress(self, run) -> float:
        return run.items_ingested / run.items_total if run.items_total else 0.0


class PrelabelRunListView(ListAPIView):
    serializer_class = PrelabelRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PrelabelRun.objects.none()
        return access.runs_visible_to(self.request.user).select_related("model_version")

    @extend_schema(
        request=PrelabelRunStartSerializer,
        responses={202: PrelabelRunSerializer},
        summary="Pre-label a dataset with a model version (or alias) as a scheduled job",
    )
    def post(self, request):
        payload = PrelabelRunStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        run = prelabel_services.prelabel_run_start(
            user=request.user,
            model_id=data["model"],
            dataset_id=data["dataset"],
            version=data["version"],
            alias=data["alias"],
            threshold=data["threshold"],
            classes=data["classes"],
            scope=data["scope"],
            filters=data["filter"],
            item_ids=data["items"],
            dataset_version_id=data["dataset_version"],
            gpus=data["gpus"],
            time_limit=data["time_limit"],
        )
        response = Response(PrelabelRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/prelabel-runs/{run.pk}/"
        return response


class PrelabelRunDetailView(GenericAPIView):
    serializer_class = PrelabelRunSerializer

    def get(self, request, pk: int):
        return Response(PrelabelRunSerializer(access.access_run_for_user(request.user, pk)).data)


class PrelabelRunCancelView(GenericAPIView):
    serializer_class = PrelabelRunSerializer

    @extend_schema(
        request=None,
        responses={200: PrelabelRunSerializer},
        summary="Cancel a pre-label run: staging ends now, a running run's job is cancelled (409 once ended)",
    )
    def post(self, request, pk: int):
        run = prelabel_services.prelabel_run_cancel(user=request.user, run_id=pk)
        return Response(PrelabelRunSerializer(run).data)
