"""The model registry over REST (docs/models.md): models, versions registered from a job's outputs,
aliases and their history."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from scheduler.access import access_job_for_user
from training import access
from training.api.serializers import (
    AliasMoveRequestSerializer,
    ModelAliasSerializer,
    ModelCreateSerializer,
    ModelVersionSerializer,
    RegisteredModelDetailSerializer,
    RegisteredModelSerializer,
    VersionRegisterSerializer,
)
from training.models import RegisteredModel
from training.selectors import registry as registry_selectors
from training.services import registry as registry_services


class ModelListView(ListAPIView):
    serializer_class = RegisteredModelSerializer
    filterset_fields = ["team", "name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RegisteredModel.objects.none()
        return access.models_visible_to(self.request.user).select_related("team")

    @extend_schema(request=ModelCreateSerializer, responses={201: RegisteredModelSerializer})
    def post(self, request):
        payload = ModelCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        model = registry_services.model_create(
            user=request.user,
            team_id=data["team"],
            name=data["name"],
            description=data["description"],
            tags=data["tags"],
        )
        response = Response(RegisteredModelSerializer(model).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/models/{model.pk}/"
        return response


class ModelDetailView(GenericAPIView):
    serializer_class = RegisteredModelDetailSerializer

    def get(self, request, pk: int):
        return Response(RegisteredModelDetailSerializer(access.access_model_for_user(request.user, pk)).data)


class ModelVersionListView(ListAPIView):
    serializer_class = ModelVersionSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RegisteredModel.objects.none()
        model = access.access_model_for_user(self.request.user, self.kwargs["pk"])
        return registry_selectors.versions_of_model(model=model)

    @extend_schema(request=VersionRegisterSerializer, responses={201: ModelVersionSerializer})
    def post(self, request, pk: int):
        model = access.access_model_for_user(request.user, pk)
        payload = VersionRegisterSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        job = access_job_for_user(request.user, data.pop("job"))
        version = registry_services.version_register(
            user=request.user, model=model, job=job, dataset_version_id=data.pop("dataset_version"), **data
        )
        response = Response(ModelVersionSerializer(version).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/models/{model.pk}/versions/{version.number}/"
        return response


class ModelVersionDetailView(APIView):
    @extend_schema(responses=ModelVersionSerializer)
    def get(self, request, pk: int, number: int):
        return Response(ModelVersionSerializer(_version(request, pk, number)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int, number: int):
        registry_services.version_delete(user=request.user, version=_version(request, pk, number))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModelAliasView(APIView):
    @extend_schema(request=AliasMoveRequestSerializer, responses=ModelAliasSerializer)
    def put(self, request, pk: int, alias: str):
        model = access.access_model_for_user(request.user, pk)
        payload = AliasMoveRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        moved = registry_services.alias_move(
            user=request.user, model=model, alias=alias, number=payload.validated_data["version"]
        )
        return Response(ModelAliasSerializer(moved).data)


def _version(request, pk: int, number: int):
    model = access.access_model_for_user(request.user, pk)
    version = registry_selectors.versions_of_model(model=model).filter(number=number).first()
    if version is None:
        raise Http404(access.NO_SUCH_VERSION)
    return version
