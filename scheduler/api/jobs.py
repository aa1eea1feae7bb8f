"""Jobs over REST (docs/decisions.md §3, §6): submit, list, detail, cancel, attempts, log pages, outputs."""

import django_filters
from django.http import FileResponse, Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduler import access
from scheduler.api.job_serializers import (
    AttemptSerializer,
    JobSerializer,
    JobSubmitSerializer,
    LogPageSerializer,
    OutputFileSerializer,
    PartLogPageSerializer,
)
from scheduler.models import ATTEMPT_LIVE_STATES, Job, JobState
from scheduler.selectors import jobs as job_selectors
from scheduler.services import jobs as job_services

NO_ATTEMPT = "This job has not started an attempt yet."


class JobFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=JobState.choices)
    user = django_filters.CharFilter(field_name="owner__username")
    node = django_filters.CharFilter(field_name="attempts__node__name", distinct=True)
    mine = django_filters.BooleanFilter(method="filter_mine")

    class Meta:
        model = Job
        fields = ["state", "user", "node", "team"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(owner=self.request.user) if value else queryset


class JobListView(ListAPIView):
    serializer_class = JobSerializer
    filterset_class = JobFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        return (
            access.jobs_visible_to(self.request.user)
            .select_related("owner", "team", "environment")
            .prefetch_related("attempts")
        )

    @extend_schema(request=JobSubmitSerializer, responses={201: JobSerializer})
    def post(self, request):
        payload = JobSubmitSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        with payload.booking_errors_named_as_sent():
            job = job_services.job_submit(
                user=request.user, team_id=data.pop("team"), booking_id=data.pop("booking"), **data
            )
        response = Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/jobs/{job.pk}/"
        return response


class JobDetailView(GenericAPIView):
    serializer_class = JobSerializer

    def get(self, request, pk: int):
        return Response(JobSerializer(access.access_job_for_user(request.user, pk)).data)


class JobCancelView(APIView):
    @extend_schema(request=None, responses=JobSerializer)
    def post(self, request, pk: int):
        job = job_services.job_cancel(job=access.access_job_to_cancel(request.user, pk), by=request.user)
        return Response(
            JobSerializer(job).data,
            status=status.HTTP_202_ACCEPTED if job.state == JobState.RUNNING else status.HTTP_200_OK,
        )


class JobAttemptsView(ListAPIView):
    serializer_class = AttemptSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        job = access.access_job_for_user(self.request.user, self.kwargs["pk"])
        return job.attempts.select_related("node").prefetch_related("allocations__gpu__node").order_by("number")


class JobLogView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("attempt", int, required=False), OpenApiParameter("offset", int, required=False)],
        responses=LogPageSerializer,
    )
    def get(self, request, pk: int):
        job = access.access_job_for_user(request.user, pk)
        attempt = job_selectors.job_attempt(job=job, number=_int_param(request, "attempt"))
        if attempt is None:
            raise Http404(NO_ATTEMPT)
        offset = _int_param(request, "offset") or 0
        data, next_offset = job_selectors.log_read(attempt=attempt, offset=offset)
        complete = attempt.state not in ATTEMPT_LIVE_STATES and next_offset >= attempt.log_size
        return Response(
            {
                "attempt": attempt.number,
                "offset": offset,
                "next_offset": next_offset,
                "data": data.decode("utf-8", "replace"),
                "truncated": attempt.log_truncated,
                "complete": complete,
            }
        )


class JobOutputsView(APIView):
    @extend_schema(responses=OutputFileSerializer(many=True))
    def get(self, request, pk: int):
        job = access.access_job_for_user(request.user, pk)
        files = job_selectors.job_outputs(job=job)
        return Response([f | {"url": f"/api/v1/jobs/{job.pk}/outputs/{f['path']}"} for f in files])


class JobOutputDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, pk: int, path: str):
        job = access.access_job_for_user(request.user, pk)
        file = job_selectors.job_output_file(job=job, relative=path)
        if file is None:
            raise Http404("No such output file.")
        return FileResponse(open(file, "rb"), as_attachment=True, filename=file.name)


class JobPartLogView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("offset", int, required=False, description="Give it to read a page as JSON")],
        responses={(200, "text/plain"): bytes, (200, "application/json"): PartLogPageSerializer},
        summary="One part's log (rank 1 and up) of the latest attempt of a multi-node job: "
        "the whole file, or with ?offset= a page of it as JSON, as the job page follows it",
    )
    def get(self, request, pk: int, rank: int):
        job = access.access_job_for_user(request.user, pk)
        attempt = job_selectors.job_attempt(job=job, number=None)
        part = attempt.parts.filter(rank=rank).first() if attempt is not None else None
        if part is None:
            raise Http404("This job's latest attempt has no part of that rank.")
        offset = _int_param(request, "offset")
        if offset is not None:
            page = job_selectors.part_log_read(attempt=attempt, part=part, offset=offset)
            return Response(
                {
                    "attempt": attempt.number,
                    "rank": page.rank,
                    "offset": page.offset,
                    "next_offset": page.next_offset,
                    "data": page.data.decode("utf-8", "replace"),
                    "complete": page.complete,
                }
            )
        path = job_selectors.part_log_file(attempt, rank)
        if not path.is_file():
            raise Http404("That part has written nothing yet.")
        name = f"job-{job.pk}-attempt-{attempt.number}-rank-{rank}.log"
        return FileResponse(open(path, "rb"), as_attachment=True, filename=name, content_type="text/plain")


def _int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        from rest_framework.exceptions import ValidationError

        raise ValidationError({name: ["Give a non-negative whole number."]})
    return int(raw)
