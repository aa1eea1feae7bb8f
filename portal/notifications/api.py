import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.notifications import selectors, services
from portal.notifications.models import Notification
from portal.notifications.serializers import NotificationSerializer, UnreadCountSerializer


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = ["kind", "unread"]


class NotificationListView(ListAPIView):
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        return selectors.notifications_of(user=self.request.user)


class NotificationReadView(APIView):
    @extend_schema(request=None, responses=UnreadCountSerializer)
    def post(self, request, pk: int):
        notification = selectors.access_notification_for_user(request.user, pk)
        services.notifications_mark_read(user=request.user, notification=notification)
        return Response({"unread": selectors.unread_count(user=request.user)})


class NotificationReadAllView(APIView):
    @extend_schema(request=None, responses=UnreadCountSerializer)
    def post(self, request):
        services.notifications_mark_read(user=request.user)
        return Response({"unread": 0})
