from django.core.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.response import Response

from portal.teams import access, services
from portal.teams.models import Team
from portal.teams.serializers import TeamQuotaSerializer, TeamSerializer

QUOTA_ADMIN_ONLY = "Only site admins change team quotas."


class TeamListView(ListAPIView):
    serializer_class = TeamSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Team.objects.none()
        return access.teams_visible_to(self.request.user).prefetch_related("memberships__user")


class TeamDetailView(RetrieveAPIView):
    serializer_class = TeamSerializer

    def get_object(self):
        return access.access_team_for_user(self.request.user, self.kwargs["pk"])


class TeamQuotaView(GenericAPIView):
    """Read by the team's members; changed by site admins only (docs/decisions.md §2)."""

    serializer_class = TeamQuotaSerializer

    def get(self, request, pk: int):
        team = access.access_team_for_user(request.user, pk)
        return Response(TeamQuotaSerializer(services.quota_of(team=team)).data)

    def patch(self, request, pk: int):
        team = access.access_team_for_user(request.user, pk)
        if not request.user.is_staff:
            raise PermissionDenied(QUOTA_ADMIN_ONLY)
        payload = TeamQuotaSerializer(services.quota_of(team=team), data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        quota = services.quota_update(team=team, by=request.user, **payload.validated_data)
        return Response(TeamQuotaSerializer(quota).data)
