"""The fleet API: nodes, GPUs, chart series, drain and undrain (site admins).

Everyone signed in sees nodes and GPUs (docs/decisions.md §2); draining is for site admins (403 otherwise).
"""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduler.api import fleet_serializers as s
from scheduler.models import Gpu, Node
from scheduler.selectors import fleet as fleet_selectors
from scheduler.selectors.telemetry import gpu_series
from scheduler.services import drain


class GpuFilter(django_filters.FilterSet):
    node = django_filters.CharFilter(method="_filter", help_text="node name, exact")
    model = django_filters.CharFilter(method="_filter", help_text="part of the model name, e.g. A100")
    state = django_filters.ChoiceFilter(choices=[(v, v) for v in fleet_selectors.BOARD_STATES], method="_filter")
    free_now = django_filters.BooleanFilter(method="_filter", help_text="available, no process, not booked now")

    class Meta:
        model = Gpu
        fields = ["node", "model", "state", "free_now"]

    def _filter(self, queryset, name, value):
        if value in (None, ""):
            return queryset
        return fleet_selectors.gpus_filter(queryset=queryset, **{name: value})


class NodeListView(ListAPIView):
    serializer_class = s.NodeSerializer

    def get_queryset(self):
        return fleet_selectors.nodes_with_status()


class GpuListView(ListAPIView):
    serializer_class = s.GpuSerializer
    filterset_class = GpuFilter

    def get_queryset(self):
        return fleet_selectors.gpus_with_board_state()


class GpuDetailView(RetrieveAPIView):
    serializer_class = s.GpuSerializer

    def get_object(self):
        return get_object_or_404(fleet_selectors.gpus_with_board_state(), pk=self.kwargs["pk"])


class GpuMetricsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, description="ISO 8601 instant with offset; default end - 1 h"),
            OpenApiParameter("end", str, description="ISO 8601 instant with offset; default now"),
            OpenApiParameter("step", str, description="ISO 8601 duration (PT1M) or seconds"),
        ],
        responses=s.SeriesSerializer,
    )
    def get(self, request, pk: int):
        gpu = get_object_or_404(Gpu.objects.select_related("node"), pk=pk)
        query = s.MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        window = query.validated_data
        series = gpu_series(gpu=gpu, start=window["start"], end=window["end"], step=window.get("step"))
        body = {
            "gpu": gpu.id,
            "simulated": gpu.node.simulated,
            "start": window["start"],
            "end": window["end"],
            **vars(series),
        }
        return Response(s.SeriesSerializer(body).data)


def _drain_input(request) -> dict:
    body = s.DrainSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _drain(request, *, gpu_ids: list[int], drain_fn, **target) -> dict:
    """Preview or drain; the running jobs are read first, so the answer names the ones it stopped."""
    asked = _drain_input(request)
    running = list(fleet_selectors.jobs_affected_by_drain(gpu_ids=gpu_ids))
    if asked["dry_run"]:
        affected = list(fleet_selectors.bookings_affected_by_drain(gpu_ids=gpu_ids))
    else:
        affected = drain_fn(
            by=request.user, reason=asked["reason"], stop_running_jobs=asked["stop_running_jobs"], **target
        )
    return {
        "dry_run": asked["dry_run"],
        "stop_running_jobs": asked["stop_running_jobs"],
        "affected_bookings": affected,
        "running_jobs": running,
    }


class GpuDrainView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=s.DrainSerializer, responses=s.GpuDrainResultSerializer)
    def post(self, request, pk: int):
        gpu = get_object_or_404(Gpu, pk=pk)
        result = _drain(request, gpu_ids=[gpu.id], drain_fn=drain.gpu_drain, gpu=gpu)
        return Response(s.GpuDrainResultSerializer({**result, "gpu": _gpu(pk)}).data)


class GpuUndrainView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses=s.GpuSerializer)
    def post(self, request, pk: int):
        drain.gpu_undrain(gpu=get_object_or_404(Gpu, pk=pk), by=request.user)
        return Response(s.GpuSerializer(_gpu(pk)).data)


class NodeDrainView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=s.DrainSerializer, responses=s.NodeDrainResultSerializer)
    def post(self, request, pk: int):
        node = get_object_or_404(Node, pk=pk)
        result = _drain(
            request, gpu_ids=list(node.gpus.values_list("id", flat=True)), drain_fn=drain.node_drain, node=node
        )
        return Response(s.NodeDrainResultSerializer({**result, "node": _node(pk)}).data)


class NodeUndrainView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses=s.NodeSerializer)
    def post(self, request, pk: int):
        drain.node_undrain(node=get_object_or_404(Node, pk=pk), by=request.user)
        return Response(s.NodeSerializer(_node(pk)).data)


def _gpu(pk: int) -> Gpu:
    return fleet_selectors.gpus_with_board_state().get(pk=pk)


def _node(pk: int) -> Node:
    return fleet_selectors.nodes_with_status().get(pk=pk)
