"""The fleet API: nodes, GPUs, chart series, drain and undrain (site admins).

Everyone signed in sees nodes and GPUs (CONTRACT 2); draining is for site admins (403 otherwise).
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
        body = {"gpu": gpu.id, "simulated": gpu.node.simulated, "start": window["start"], "end": window["end"], **vars(series)}
        return Response(s.SeriesSerializer(body).data)


def _drain_input(request) -> tuple[str, bool]:
    body = s.DrainSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data["reason"], body.validated_data["dry_run"]


class GpuDrainView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=s.DrainSerializer, responses=s.GpuDrainResultSerializer)
    def post(self, request, pk: int):
        gpu = get_object_or_404(Gpu, pk=pk)
        reason, dry_run = _drain_input(request)
        if dry_run:
            affected = list(fleet_selectors.bookings_affected_by_drain(gpu_ids=[gpu.id]))
        else:
            affected = drain.gpu_drain(gpu=gpu, by=request.user, reason=reason)
        return Response(s.GpuDrainResultSerializer({"dry_run": dry_run, "gpu": _gpu(pk), "affected_bookings": affected}).data)


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
        reason, dry_run = _drain_input(request)
        gpu_ids = list(node.gpus.values_list("id", flat=True))
        if dry_run:
            affected = list(fleet_selectors.bookings_affected_by_drain(gpu_ids=gpu_ids))
        else:
            affected = drain.node_drain(node=node, by=request.user, reason=reason)
        return Response(s.NodeDrainResultSerializer({"dry_run": dry_run, "node": _node(pk), "affected_bookings": affected}).data)


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

