"""Pipeline runs over REST (docs/pipelines.md "Runs"): start (202 and a Location to the run), list, show
with every step (state, tries, job, cache key and why it hit or missed, artifacts), cancel, re-run from
failure, and forget a step's cache entry."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from portal.api.fields import WholeNumberField
from portal.errors import Invalid
from training import access
from training.models import Pipeline, PipelineRun, StepRun
from training.services import pipeline_runs as run_services

PIPELINE_REQUIRED = "Name the pipeline: its id (`pipeline`) or its name (`name`, with `team` when you are in several)."
NAME_AMBIGUOUS = "Several of your teams have a pipeline named {name!r}: give `team`."
NO_SUCH_STEP = "The run has no step named {name!r}."


class RunStartSerializer(serializers.Serializer):
    pipeline = WholeNumberField(required=False, default=None, allow_null=True, help_text="the pipeline's id")
    name = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    team = WholeNumberField(required=False, default=None, allow_null=True, help_text="with `name`")
    parameters = serializers.DictField(required=False, default=dict, help_text="run parameters, JSON or text")
    use_cache = serializers.BooleanField(required=False, default=True, help_text="false: every step runs")


class StepRunSerializer(serializers.ModelSerializer):
    cache_hit_of = serializers.SerializerMethodField()
    duration_s = serializers.SerializerMethodField()

    class Meta:
        model = StepRun
        fields = [
            "name",
            "type",
            "state",
            "tries",
            "retry_at",
            "job",
            "export",
            "prelabel_run",
            "parameters",
            "inputs",
            "outputs",
            "cache_key",
            "cache_note",
            "cache_hit_of",
            "cache_forgotten",
            "error",
            "history",
            "started_at",
            "finished_at",
            "duration_s",
        ]

    def get_cache_hit_of(self, step) -> dict | None:
        origin = step.cache_hit_of
        return {"run": origin.run_id, "step": origin.name} if origin else None

    def get_duration_s(self, step) -> float | None:
        if step.started_at is None or step.finished_at is None:
            return None
        return round((step.finished_at - step.started_at).total_seconds(), 3)


class RunSerializer(serializers.ModelSerializer):
    pipeline_name = serializers.CharField(source="pipeline.name", read_only=True)
    spec_version = serializers.IntegerField(source="spec_version.number", read_only=True)
    started_by = serializers.CharField(source="started_by.username", read_only=True, default=None)

    class Meta:
        model = PipelineRun
        fields = [
            "id",
            "pipeline",
            "pipeline_name",
            "spec_version",
            "state",
            "trigger",
            "parameters",
            "use_cache",
            "rerun_of",
            "started_by",
            "error",
            "created_at",
            "finished_at",
        ]


class RunDetailSerializer(RunSerializer):
    steps = StepRunSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "steps"]


def _accepted(run: PipelineRun) -> Response:
    run = PipelineRun.objects.prefetch_related("steps__cache_hit_of").get(pk=run.pk)
    response = Response(RunDetailSerializer(run).data, status=status.HTTP_202_ACCEPTED)
    response["Location"] = f"/api/v1/pipeline-runs/{run.pk}/"
    return response


class RunListView(ListAPIView):
    serializer_class = RunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PipelineRun.objects.none()
        runs = access.pipeline_runs_visible_to(self.request.user).select_related(
            "pipeline", "spec_version", "started_by"
        )
        pipeline = self.request.query_params.get("pipeline", "")
        return runs.filter(pipeline_id=pipeline) if pipeline.isdigit() else runs

    @extend_schema(
        request=RunStartSerializer,
        responses={202: RunDetailSerializer},
        summary="Run a pipeline (its latest spec) with parameters",
    )
    def post(self, request):
        payload = RunStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        run = run_services.pipeline_run_start(
            user=request.user,
            pipeline=_pipeline(request.user, data),
            parameters=data["parameters"],
            use_cache=data["use_cache"],
        )
        return _accepted(run)


def _pipeline(user, data: dict) -> Pipeline:
    if data["pipeline"] is not None:
        return access.access_pipeline_for_user(user, data["pipeline"])
    if not data["name"]:
        raise Invalid({"pipeline": [PIPELINE_REQUIRED]})
    found = access.pipelines_visible_to(user).filter(name=data["name"])
    if data["team"] is not None:
        found = found.filter(team_id=data["team"])
    pipelines = list(found[:2])
    if len(pipelines) > 1:
        raise Invalid({"team": [NAME_AMBIGUOUS.format(name=data["name"])]})
    if not pipelines:
        return access.access_pipeline_for_user(user, 0)  # the same 404 as an unknown id
    return pipelines[0]


class RunDetailView(GenericAPIView):
    serializer_class = RunDetailSerializer

    def get(self, request, pk: int):
        run = access.access_pipeline_run_for_user(request.user, pk)
        run = PipelineRun.objects.prefetch_related("steps__cache_hit_of").select_related("pipeline").get(pk=run.pk)
        return Response(RunDetailSerializer(run).data)


class RunCancelView(GenericAPIView):
    serializer_class = RunDetailSerializer

    @extend_schema(request=None, summary="Cancel the run and its running jobs")
    def post(self, request, pk: int):
        run = run_services.pipeline_run_cancel(
            user=request.user, run=access.access_pipeline_run_for_user(request.user, pk)
        )
        return Response(RunDetailSerializer(run).data)


class RunRerunView(GenericAPIView):
    serializer_class = RunDetailSerializer

    @extend_schema(request=None, responses={202: RunDetailSerializer}, summary="Re-run from failure")
    def post(self, request, pk: int):
        run = access.access_pipeline_run_for_user(request.user, pk)
        return _accepted(run_services.pipeline_run_rerun(user=request.user, run=run))


class StepCacheForgetView(GenericAPIView):
    serializer_class = StepRunSerializer

    @extend_schema(request=None, summary="Forget this step's cache entry: later runs do the step again")
    def post(self, request, pk: int, name: str):
        run = access.access_pipeline_run_for_user(request.user, pk)
        step = run.steps.filter(name=name).first()
        if step is None:
            raise Http404(NO_SUCH_STEP.format(name=name))
        run_services.cache_forget(user=request.user, step=step)
        step.refresh_from_db()
        return Response(StepRunSerializer(step).data)


class TriggersSerializer(serializers.Serializer):
    dataset = WholeNumberField(required=False, default=None, allow_null=True, help_text="runs on its new versions")
    parameters = serializers.DictField(required=False, default=dict, help_text="the triggered runs' parameters")
    schedule = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=100, help_text="crontab: minute hour dom month dow"
    )


def _triggers(pipeline: Pipeline) -> dict:
    task = pipeline.schedule_task
    crontab = task.crontab if task else None
    schedule = (
        " ".join([crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week])
        if crontab
        else ""
    )
    return {
        "dataset": pipeline.trigger_dataset_id,
        "parameters": pipeline.trigger_parameters,
        "schedule": schedule,
        "owner": pipeline.owner.username if pipeline.owner else None,
    }


class PipelineTriggersView(GenericAPIView):
    serializer_class = TriggersSerializer

    def get(self, request, pk: int):
        return Response(_triggers(access.access_pipeline_for_user(request.user, pk)))

    @extend_schema(summary="Run the pipeline on a dataset's new versions and/or on a schedule, with the owner's rights")
    def put(self, request, pk: int):
        pipeline = access.access_pipeline_for_user(request.user, pk)
        payload = TriggersSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        pipeline = run_services.pipeline_triggers_set(
            user=request.user,
            pipeline=pipeline,
            dataset_id=data["dataset"],
            parameters=data["parameters"],
            crontab=data["schedule"],
        )
        return Response(_triggers(pipeline))
