"""An item's predictions over REST: what the workspace shows as suggestions (docs/annotation.md)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from labeling import access
from labeling.models import Prediction
from labeling.selectors.predictions import predictions_for_item
from portal.inputs import is_id_text

NO_SUCH_PREDICTION = "This item has no such prediction."
PREDICTION_NOT_A_NUMBER = "prediction must be the id of one of the item's predictions."


class PredictionRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prediction
        fields = ["id", "run_ref", "model_ref", "shape_count", "created_at"]


class PredictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prediction
        fields = ["id", "run_ref", "model_ref", "shape_count", "created_at", "shapes"]


class ItemPredictionsView(GenericAPIView):
    serializer_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "prediction", int, description="Which of the item's predictions to give whole (default: the newest)."
            )
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk: int):
        """The item's predictions, newest first (`predictions`, without their shapes), and one of them
        whole with its shapes and scores (`prediction`: the newest, or the one asked for; null when the
        item has none)."""
        item = access.access_item_for_user(request.user, pk)
        rows = predictions_for_item(item=item)
        chosen = self._chosen(rows, request.query_params.get("prediction"))
        return Response(
            {
                "predictions": PredictionRunSerializer(rows.defer("shapes", "summary"), many=True).data,
                "prediction": PredictionSerializer(chosen).data if chosen is not None else None,
            }
        )

    def _chosen(self, rows, asked):
        if asked in (None, ""):
            return rows.first()
        if not is_id_text(asked):
            raise ValidationError({"prediction": [PREDICTION_NOT_A_NUMBER]})
        chosen = rows.filter(pk=int(asked)).first()
        if chosen is None:
            raise NotFound(NO_SUCH_PREDICTION)
        return chosen
