"""Serving over REST (docs/models.md "Serving"): one image to a model version, by alias or number, and the
request's resource for answers that took longer than the wait."""

import functools

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.errors import Invalid
from training import access
from training.models import PredictionRequest
from training.services import serving


class RawImageParser(BaseParser):
    """Any other body is the image's bytes (sniffed from its content, never from its type)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


class PredictOptionsSerializer(serializers.Serializer):
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    classes = serializers.CharField(
        required=False, allow_blank=True, help_text="Class names to keep, separated by commas (default: all)."
    )


class PredictionRequestSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.model.name", read_only=True)
    version = serializers.IntegerField(source="model_version.number", read_only=True)
    shapes = serializers.JSONField(read_only=True, allow_null=True)

    class Meta:
        model = PredictionRequest
        fields = ["id", "state", "model", "version", "threshold", "classes", "shapes", "inference_ms", "error"]
        fields += ["created_at", "finished_at"]
        read_only_fields = fields


_PARAMETERS = [
    OpenApiParameter("threshold", float, description="Lowest score kept, 0..1 (default 0.3)."),
    OpenApiParameter("classes", str, description="Class names to keep, separated by commas (default: all)."),
    OpenApiParameter("team", int, description="The model's team, when several of your teams have the name."),
]
_RESPONSES = {
    200: PredictionRequestSerializer,
    202: OpenApiResponse(PredictionRequestSerializer, description="Still running: `Location` is its resource."),
}


class PredictImageSerializer(serializers.Serializer):
    image = serializers.FileField()
    threshold = serializers.FloatField(required=False)
    classes = serializers.CharField(required=False)


_REQUEST = {"application/octet-stream": OpenApiTypes.BINARY, "multipart/form-data": PredictImageSerializer}


# Checks and records the request (authentication, access, the image) and answers 202 with its resource;
# `predict_view` then waits for the worker's answer outside the web thread. (A comment, not a docstring:
# the API schema would show a docstring as the endpoint's description.)
class _PredictView(APIView):
    parser_classes = [MultiPartParser, RawImageParser]

    def _predict(self, request, version):
        data, options = _image_and_options(request)
        created = serving.prediction_request_create(
            user=request.user, version=version, data=data, threshold=options["threshold"], classes=options["classes"]
        )
        response = Response(PredictionRequestSerializer(created).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/predictions/requests/{created.pk}/"
        return response


class AliasPredictView(_PredictView):
    @extend_schema(
        operation_id="v1_models_alias_predict_create", request=_REQUEST, parameters=_PARAMETERS, responses=_RESPONSES
    )
    def post(self, request, name: str, alias: str):
        version = access.access_served_version(request.user, name, alias=alias, team_id=_team(request))
        return self._predict(request, version)


class VersionPredictView(_PredictView):
    @extend_schema(request=_REQUEST, parameters=_PARAMETERS, responses=_RESPONSES)
    def post(self, request, name: str, number: int):
        version = access.access_served_version(request.user, name, number=number, team_id=_team(request))
        return self._predict(request, version)


class PredictionRequestView(APIView):
    @extend_schema(responses=PredictionRequestSerializer)
    def get(self, request, pk: int):
        return Response(PredictionRequestSerializer(access.access_prediction_for_user(request.user, pk)).data)


def _team(request) -> int | None:
    raw = request.query_params.get("team")
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise Invalid({"team": ["A team id is a whole number."]})
    return int(raw)


def _image_and_options(request) -> tuple[bytes, dict]:
    if isinstance(request.data, bytes):
        data, fields = request.data, request.query_params
    else:
        image = request.data.get("image")
        data = image.read() if hasattr(image, "read") else b""
        fields = {**request.query_params.dict(), **{k: v for k, v in request.data.items() if k != "image"}}
    options = PredictOptionsSerializer(data={k: fields[k] for k in ("threshold", "classes") if k in fields})
    options.is_valid(raise_exception=True)
    raw = options.validated_data.get("classes")
    classes = [name.strip() for name in raw.split(",") if name.strip()] if raw else None
    if not data:
        raise Invalid({"image": [serving.NOT_AN_IMAGE]})
    return data, {"threshold": options.validated_data.get("threshold"), "classes": classes}


def predict_view(recording_view):
    """The URL's view: `recording_view` (a DRF view above) records the request in a thread; the wait for
    the worker's answer, up to PREDICT_WAIT_SECONDS, happens in the event loop (`prediction_await`), so a
    slow inference holds no web thread and no database connection. Answered within the wait: 200 with the
    shapes (or the failure); else the 202 and its Location. Keeps the DRF view's attributes, so the API
    schema and CSRF handling see the DRF view."""

    @functools.wraps(recording_view)
    async def view(request, *args, **kwargs):
        recorded = await sync_to_async(_released_after(recording_view))(request, *args, **kwargs)
        if recorded.status_code != status.HTTP_202_ACCEPTED:
            return recorded  # refused: the DRF view's own error response
        request_id = recorded.data["id"]
        if not await serving.prediction_await(request_id=request_id, seconds=settings.PREDICT_WAIT_SECONDS):
            return recorded
        return JsonResponse(await sync_to_async(_answer)(request_id))

    return view


def _released_after(view):
    """`view`, then its thread's database connection handed back to the pool before the wait."""

    def call(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        finally:
            serving.connection_release()

    return call


def _answer(request_id: int) -> dict:
    answered = PredictionRequest.objects.select_related("model_version__model").get(pk=request_id)
    return PredictionRequestSerializer(answered).data
