"""Export jobs and annotation imports over REST (docs/decisions.md §2, §3). Thin: access, then a service."""

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import access, storage
from labeling.api.export_serializers import (
    AnnotationImportResultSerializer,
    AnnotationImportSerializer,
    ExportCreateSerializer,
    ExportJobSerializer,
)
from labeling.models import ExportJob, ExportState
from labeling.services import annotation_imports
from labeling.services import exports as export_services
from portal.api.parsers import JSONParser  # with the depth limit (portal/inputs.py)

RECENT_EXPORTS = 20
NOT_READY = "The export is not ready: it is {state}."


class VersionExportListView(GenericAPIView):
    serializer_class = ExportJobSerializer
    queryset = ExportJob.objects.none()  # for the schema only: every query goes through labeling.access
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    pagination_class = None  # the most recent RECENT_EXPORTS, a bare list

    @extend_schema(responses={200: ExportJobSerializer(many=True)}, summary="The version's recent exports")
    def get(self, request, pk: int):
        version = access.access_version_for_user(request.user, pk)
        jobs = ExportJob.objects.filter(version=version).select_related("dataset", "version").order_by("-id")
        return Response(ExportJobSerializer(jobs[:RECENT_EXPORTS], many=True).data)

    @extend_schema(
        request=ExportCreateSerializer,
        responses={202: ExportJobSerializer},
        summary="Export the version (a background job; Location is its status)",
    )
    def post(self, request, pk: int):
        version = access.access_version_for_user(request.user, pk)
        access.access_dataset_to_change(request.user, version.dataset_id)
        payload = ExportCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        job = export_services.export_create(version=version, user=request.user, **payload.validated_data)
        response = Response(ExportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/export-jobs/{job.pk}/"
        return response


class ExportJobDetailView(GenericAPIView):
    serializer_class = ExportJobSerializer

    def get(self, request, pk: int):
        return Response(ExportJobSerializer(access.access_export_job_for_user(request.user, pk)).data)


class ExportJobDownloadView(APIView):
    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY}, summary="The finished export (zip)")
    def get(self, request, pk: int):
        job = access.access_export_job_for_user(request.user, pk)
        if job.state != ExportState.SUCCEEDED:
            raise Http404(NOT_READY.format(state=job.get_state_display().lower()))
        path = storage.export_path(dataset_id=job.dataset_id, job_id=job.pk)
        if not path.is_file():
            raise Http404(access.NO_SUCH_EXPORT)
        response = FileResponse(
            open(path, "rb"),
            as_attachment=True,
            filename=export_services.export_file_name(job),
            content_type="application/zip",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-cache"
        return response


class AnnotationImportView(GenericAPIView):
    serializer_class = AnnotationImportResultSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": AnnotationImportSerializer},
        responses={200: AnnotationImportResultSerializer},
        summary="Import COCO, YOLO or Label Studio annotations onto the dataset's images (all or nothing)",
    )
    def post(self, request, pk: int):
        dataset = access.access_dataset_to_change(request.user, pk)
        result = annotation_imports.annotation_import(
            dataset=dataset, user=request.user, format=request.data.get("format", ""), upload=request.FILES.get("file")
        )
        return Response(result)
