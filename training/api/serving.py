"""Serving over REST (docs/models.md "Serving"): one image to a model version, by alias or number, and the
request's resource for answers that took longer than the wait."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.errors import Invalid
from training import access
from training.models import PredictionRequest, PredictionState
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


class _PredictView(APIView):
    parser_classes = [MultiPartParser, RawImageParser]

    def _predict(self, request, version):
        data, options = _image_and_options(request)
        created = serving.prediction_request_create(
            user=request.user, version=version, data=data, threshold=options["threshold"], classes=options["classes"]
        )
        answered = serving.prediction_wait(request=created, seconds=settings.PREDICT_WAIT_SECONDS)
        body = PredictionRequestSerializer(answered).data
        if answered.state in (PredictionState.SUCCEEDED, PredictionState.FAILED):
            return Response(body)
        response = Response(body, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/predictions/requests/{answered.pk}/"
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
