"""Lineage over REST (docs/models.md "Lineage"): from a dataset version to the jobs that read it and the
model versions registered from them. A model version's chain back is its `lineage` field."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.access import access_version_for_user
from training.api.serializers import DatasetVersionLineageSerializer
from training.selectors.lineage import dataset_version_lineage


class DatasetVersionLineageView(APIView):
    @extend_schema(responses=DatasetVersionLineageSerializer)
    def get(self, request, pk: int):
        version = access_version_for_user(request.user, pk)
        lineage = dataset_version_lineage(version=version, viewer=request.user)
        return Response(DatasetVersionLineageSerializer(lineage).data)
