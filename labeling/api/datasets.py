"""Datasets, items, imports and image files over REST (docs/decisions.md §2, §3, §7). Thin: access,
then a selector or a service."""

from django.http import FileResponse, Http404, HttpResponseNotModified
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling import access, storage
from labeling.api.dataset_serializers import (
    DatasetCreateSerializer,
    DatasetSerializer,
    DatasetUpdateSerializer,
    ImportJobSerializer,
    ImportRequestSerializer,
    ItemSerializer,
    UploadSerializer,
    VersionCreateSerializer,
    VersionDiffSerializer,
    VersionItemSerializer,
    VersionSerializer,
)
from labeling.filters import NOT_A_BOOLEAN, item_filters_from  # noqa: F401 (NOT_A_BOOLEAN: re-exported)
from labeling.models import Dataset, DatasetVersion, Item, ItemKind, ItemStatus, VersionItem
from labeling.selectors import datasets as dataset_selectors
from labeling.selectors import versions as version_selectors
from labeling.services import datasets as dataset_services
from labeling.services import imports as import_services
from labeling.services import versions as version_services
from portal.api.parsers import JSONParser
from portal.inputs import InputError, integer_from  # with the depth limit (portal/inputs.py)

# Tiles and thumbnails are named by content hash, so a URL's bytes never change: cache for a year.
# `private`: they are access-checked per user, so shared caches must not keep them.
IMMUTABLE_CACHE = "private, max-age=31536000, immutable"


class ItemCursorPagination(CursorPagination):
    # grid_key = the item's id, read from the table that drives the query (dataset_selectors.items_of_dataset);
    # no COUNT over the table.
    ordering = "-grid_key"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _created_job_response(job) -> Response:
    response = Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
    response["Location"] = f"/api/v1/import-jobs/{job.pk}/"
    return response


class DatasetListView(ListAPIView):
    serializer_class = DatasetSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Dataset.objects.none()
        return dataset_selectors.datasets_for_user(user=self.request.user)

    @extend_schema(request=DatasetCreateSerializer, responses={201: DatasetSerializer})
    def post(self, request):
        payload = DatasetCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        dataset = dataset_services.dataset_create(
            user=request.user,
            team_id=data["team"],
            name=data["name"],
            description=data["description"],
            label_schema=data["label_schema"],
            series_id=data["series"],
        )
        response = Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/datasets/{dataset.pk}/"
        return response


class DatasetDetailView(GenericAPIView):
    serializer_class = DatasetSerializer

    def get(self, request, pk: int):
        return Response(DatasetSerializer(access.access_dataset_for_user(request.user, pk)).data)

    @extend_schema(request=DatasetUpdateSerializer, responses={200: DatasetSerializer})
    def patch(self, request, pk: int):
        dataset = access.access_dataset_to_change(request.user, pk)
        payload = DatasetUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        dataset = dataset_services.dataset_update(dataset=dataset, **payload.validated_data)
        return Response(DatasetSerializer(dataset).data)


ITEM_FILTERS = [
    OpenApiParameter("status", str, enum=ItemStatus.values),
    OpenApiParameter("kind", str, enum=ItemKind.values),
    OpenApiParameter("near_duplicate", bool),
    OpenApiParameter("class", str, description="Items whose annotation uses this class (shape or tag)."),
    OpenApiParameter("tag", str, description='Items tagged with this tag class (a class whose shapes are ["tag"]).'),
    OpenApiParameter("annotator", int, description="Items with a task assigned to this user id."),
]


@extend_schema(parameters=ITEM_FILTERS)
class ItemListView(ListAPIView):
    serializer_class = ItemSerializer
    pagination_class = ItemCursorPagination
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Item.objects.none()
        dataset = access.access_dataset_for_user(self.request.user, self.kwargs["pk"])
        filters = item_filters_from(dataset=dataset, params=self.request.query_params)
        items = dataset_selectors.items_of_dataset(dataset=dataset, **filters, **self._cursor_bounds())
        return items.prefetch_related("slices")

    def _cursor_bounds(self) -> dict:
        """The cursor's position as id bounds, so the selector can bound its subqueries too (the
        paginator applies the same bound to the items again)."""
        cursor = self.paginator.decode_cursor(self.request)
        if cursor is None or cursor.position is None:
            return {}
        try:
            position = int(cursor.position)
        except ValueError:
            raise NotFound(self.paginator.invalid_cursor_message) from None
        return {"before_id": position} if cursor.reverse else {"after_id": position}


class ItemDetailView(GenericAPIView):
    serializer_class = ItemSerializer

    def get(self, request, pk: int):
        return Response(ItemSerializer(access.access_item_for_user(request.user, pk)).data)


class UploadView(GenericAPIView):
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={202: ImportJobSerializer})
    def post(self, request, pk: int):
        dataset = access.access_dataset_to_change(request.user, pk)
        options = UploadSerializer(data={k: v for k, v in request.data.items() if k != "files"})
        options.is_valid(raise_exception=True)
        job = import_services.upload_import_create(
            dataset=dataset,
            user=request.user,
            files=request.FILES.getlist("files"),
            as_episode=options.validated_data["as_episode"],
            episode_name=options.validated_data["episode_name"],
        )
        return _created_job_response(job)


class ImportView(GenericAPIView):
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer, "application/json": ImportRequestSerializer},
        responses={202: ImportJobSerializer},
    )
    def post(self, request, pk: int):
        dataset = access.access_dataset_to_change(request.user, pk)
        payload = ImportRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        job = _import_create(dataset, request.user, payload.validated_data)
        return _created_job_response(job)


def _import_create(dataset, user, data: dict):
    sources = [name for name in ("archive", "url", "folder") if data.get(name) not in (None, "")]
    if len(sources) != 1:
        raise ValidationError({"non_field_errors": [import_services.NO_SOURCE]})
    episode = {"as_episode": data["as_episode"], "episode_name": data["episode_name"]}
    if sources[0] == "archive":
        return import_services.archive_import_create(dataset=dataset, user=user, archive=data["archive"], **episode)
    if sources[0] == "url":
        return import_services.url_import_create(dataset=dataset, user=user, url=data["url"])
    return import_services.folder_import_create(dataset=dataset, user=user, folder=data["folder"], **episode)


class ImportJobDetailView(GenericAPIView):
    serializer_class = ImportJobSerializer

    def get(self, request, pk: int):
        return Response(ImportJobSerializer(access.access_import_job_for_user(request.user, pk)).data)


# ---------------------------------------------------------------- image files


def _immutable_file(request, path, content_type: str, etag: str):
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        if not path.is_file():
            raise Http404(access.NO_SUCH_IMAGE)
        response = FileResponse(open(path, "rb"), content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = IMMUTABLE_CACHE
    return response


class DziView(APIView):
    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.STR}, summary="Deep Zoom descriptor of an image")
    def get(self, request, pk: int):
        image = access.access_slice_for_user(request.user, pk)
        tiles = storage.tiles_directory(dataset_id=image.dataset_id, sha256=image.sha256)
        return _immutable_file(request, tiles / f"{image.sha256}.dzi", "application/xml", f'"{image.sha256}-dzi"')


class TileView(APIView):
    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY}, summary="One Deep Zoom tile")
    def get(self, request, pk: int, level: int, column: int, row: int):
        image = access.access_slice_for_user(request.user, pk)
        tiles = storage.tiles_directory(dataset_id=image.dataset_id, sha256=image.sha256)
        path = tiles / f"{image.sha256}_files" / str(level) / f"{column}_{row}.jpeg"
        return _immutable_file(request, path, "image/jpeg", f'"{image.sha256}-{level}-{column}-{row}"')


class ThumbnailView(APIView):
    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY}, summary="Thumbnail of an image")
    def get(self, request, pk: int):
        image = access.access_slice_for_user(request.user, pk)
        path = storage.tiles_directory(dataset_id=image.dataset_id, sha256=image.sha256) / "thumbnail.jpg"
        return _immutable_file(request, path, "image/jpeg", f'"{image.sha256}-thumb"')


class OriginalView(APIView):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="The uploaded bytes, as a download only",
    )
    def get(self, request, pk: int):
        image = access.access_slice_for_user(request.user, pk)
        path = storage.original_path(
            dataset_id=image.dataset_id, sha256=image.sha256, source_format=image.source_format
        )
        if not path.is_file():
            raise Http404(access.NO_SUCH_IMAGE)
        # Never inline: the original is whatever the client sent (docs/decisions.md §7); octet-stream + nosniff
        # keep a browser from rendering it.
        response = FileResponse(
            open(path, "rb"), as_attachment=True, filename=image.original_name, content_type="application/octet-stream"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-cache"
        return response


# ---------------------------------------------------------------- versions


class VersionItemCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 200
    page_size_query_param = "page_size"
    max_page_size = 1000


class VersionListView(ListAPIView):
    serializer_class = VersionSerializer
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DatasetVersion.objects.none()
        dataset = access.access_dataset_for_user(self.request.user, self.kwargs["pk"])
        return version_selectors.versions_of_dataset(dataset=dataset)

    @extend_schema(request=VersionCreateSerializer, responses={201: VersionSerializer})
    def post(self, request, pk: int):
        dataset = access.access_dataset_to_change(request.user, pk)
        payload = VersionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version = version_services.version_create(dataset=dataset, user=request.user, **payload.validated_data)
        response = Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/versions/{version.pk}/"
        return response


class VersionDetailView(GenericAPIView):
    """A version never changes: GET only (PUT, PATCH and DELETE answer 405)."""

    serializer_class = VersionSerializer

    def get(self, request, pk: int):
        return Response(VersionSerializer(access.access_version_for_user(request.user, pk)).data)


@extend_schema(parameters=[OpenApiParameter("split", str, enum=["train", "val", "test"])])
class VersionItemListView(ListAPIView):
    serializer_class = VersionItemSerializer
    pagination_class = VersionItemCursorPagination
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VersionItem.objects.none()
        version = access.access_version_for_user(self.request.user, self.kwargs["pk"])
        return version_selectors.items_of_version(version=version, split=self.request.query_params.get("split") or None)


DIFF_NEEDS_AGAINST = "Give `against`: the id of another version of the same dataset."


class VersionDiffView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("against", int, required=True)],
        responses={200: VersionDiffSerializer},
        summary="Items added, removed, changed and moved between two versions of a dataset",
    )
    def get(self, request, pk: int):
        other = access.access_version_for_user(request.user, pk)
        against = _int_param(request.query_params.get("against"))
        if against is None:
            raise ValidationError({"against": [DIFF_NEEDS_AGAINST]})
        base = access.access_version_for_user(request.user, against)
        if base.dataset_id != other.dataset_id:
            raise ValidationError({"against": [DIFF_NEEDS_AGAINST]})
        return Response(version_selectors.version_diff(base=base, other=other))


def _int_param(value: str | None) -> int | None:
    try:
        return integer_from(value)
    except InputError:
        return None
