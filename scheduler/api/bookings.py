"""Booking endpoints: thin translations between HTTP and scheduler services and selectors."""

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.teams.access import access_team_for_user, team_ids_of
from scheduler import access
from scheduler.api import booking_serializers as s
from scheduler.models import Booking, BookingState
from scheduler.selectors import quotas
from scheduler.selectors.placement import GpuRequest, availability_find
from scheduler.services import bookings as services


class BookingFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="user__username")
    state = django_filters.ChoiceFilter(choices=BookingState.choices)
    gpu = django_filters.NumberFilter(field_name="gpus")
    ends_after = django_filters.IsoDateTimeFilter(field_name="end", lookup_expr="gt")
    starts_before = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")
    mine = django_filters.BooleanFilter(method="filter_mine")

    class Meta:
        model = Booking
        fields = ["team", "user", "state", "gpu", "ends_after", "starts_before", "mine"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(user=self.request.user) if value else queryset


def _context(request) -> dict:
    return {"request": request, "team_ids": team_ids_of(request.user)}


def _shown(booking: Booking, request) -> dict:
    """The booking as the caller sees it, read back with its GPUs and nodes in two queries."""
    fresh = Booking.objects.select_related("user", "team").prefetch_related("gpus__node").get(pk=booking.pk)
    return s.BookingSerializer(fresh, context=_context(request)).data


class BookingListView(ListAPIView):
    """Every signed-in user sees every booking (who, team, when); notes only their team's."""

    serializer_class = s.BookingSerializer
    filterset_class = BookingFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Booking.objects.none()
        visible = access.bookings_visible_to(self.request.user)
        return visible.select_related("user", "team").prefetch_related("gpus__node").distinct().order_by("start", "id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **_context(self.request)}

    @extend_schema(request=s.BookingCreateSerializer, responses={201: s.BookingSerializer})
    def post(self, request):
        payload = s.BookingCreateSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        booking = services.booking_create(
            user=request.user,
            start=data["start"],
            end=data["end"],
            request=data["request"],
            team=data.get("team"),
            note=data["note"],
        )
        return Response(_shown(booking, request), status=status.HTTP_201_CREATED)


class BookingDetailView(GenericAPIView):
    serializer_class = s.BookingSerializer

    def get(self, request, pk: int):
        return Response(_shown(access.access_booking_for_user(request.user, pk), request))

    @extend_schema(request=s.BookingUpdateSerializer, responses=s.BookingSerializer)
    def patch(self, request, pk: int):
        booking = access.access_booking_to_change(request.user, pk)
        payload = s.BookingUpdateSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        change = services.Change(start=data["start"], end=data["end"], note=data.get("note"))
        updated = services.booking_update(booking=booking, by=request.user, change=change)
        return Response(_shown(updated, request))

    @extend_schema(request=None, responses=s.BookingSerializer)
    def delete(self, request, pk: int):
        """Cancel: frees the rest of the window at once; the record stays, cancelled (docs/decisions.md §3)."""
        booking = access.access_booking_to_change(request.user, pk)
        cancelled = services.booking_cancel(booking=booking, by=request.user)
        return Response(_shown(cancelled, request))


@extend_schema(deprecated=True)
class BookingListOldPathView(BookingListView):
    """`/api/v1/reservations/`, the old path of `/api/v1/bookings/`: the same view, kept for older clients."""


@extend_schema(deprecated=True)
class BookingDetailOldPathView(BookingDetailView):
    """`/api/v1/reservations/{id}/`, the old path of `/api/v1/bookings/{id}/`: the same view."""


class AvailabilityView(APIView):
    @extend_schema(parameters=[s.AvailabilityQuerySerializer], responses=s.WindowSerializer(many=True))
    def get(self, request):
        query = s.AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        gpu_request = GpuRequest(
            gpu_ids=q.get("gpu_ids") or (),
            count=q.get("gpus"),
            node=q.get("node"),
            model=q.get("model"),
            min_memory_mb=q.get("min_memory_mb"),
            same_node=q["same_node"],
        )
        services.request_check(gpu_request)
        after = max(q.get("after") or timezone.now(), timezone.now())
        windows = availability_find(request=gpu_request, duration=q["duration"], after=after, limit=q["limit"])
        return Response(s.WindowSerializer([w.__dict__ for w in windows], many=True).data)


class TeamQuotaUsageView(APIView):
    """The team's usage against its limits for a month (members and site admins)."""

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM; default this month")],
        responses=s.UsageSerializer,
    )
    def get(self, request, pk: int):
        team = access_team_for_user(request.user, pk)
        try:
            month = quotas.month_parse(request.query_params.get("month"), default=timezone.now())
        except ValueError as exc:
            raise ValidationError({"month": [str(exc)]}) from None
        return Response(quotas.quota_summary(team=team, month=month))
