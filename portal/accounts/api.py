from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView, ListCreateAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts import selectors, services
from portal.accounts.models import ApiToken

TOKEN_NEEDS_SESSION = "Tokens are created from a signed-in session (the profile page), not with a token."
from portal.accounts.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    MeSerializer,
    MeUpdateSerializer,
)


class MeView(GenericAPIView):
    serializer_class = MeSerializer

    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeUpdateSerializer, responses=MeSerializer)
    def patch(self, request):
        payload = MeUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = request.user
        if "time_zone" in payload.validated_data:  # a PATCH changes what it names, nothing else
            user = services.user_update_time_zone(user=user, time_zone=payload.validated_data["time_zone"])
        return Response(MeSerializer(user).data)


class ApiTokenListView(ListCreateAPIView):
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiToken.objects.none()
        return selectors.api_tokens_of(user=self.request.user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def post(self, request):
        """Create a token: from a signed-in session only (the profile page's own calls). A token cannot
        make another, so a leaked one cannot outlive its expiry or its revocation."""
        if request.auth is not None:
            raise PermissionDenied(TOKEN_NEEDS_SESSION)
        payload = ApiTokenCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        token, secret = services.api_token_create(user=request.user, **payload.validated_data)
        data = ApiTokenSerializer(token).data | {"token": secret}
        return Response(data, status=status.HTTP_201_CREATED)


class ApiTokenDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, key: str):
        services.api_token_revoke(token=selectors.api_token_of_user(user=request.user, key=key), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
