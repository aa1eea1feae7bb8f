"""Tasks, annotation documents, review, history and quality over REST (docs/annotation.md).

Thin: access, then a service or a selector. The document's version travels as the ETag, and a save
must send it back as If-Match (412 when stale, 428 when missing).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from labeling import access
from labeling.api.annotation_serializers import (
    AnnotationDocumentSerializer,
    AnnotationSerializer,
    DiffQuerySerializer,
    FocusedTimeSerializer,
    NextTaskSerializer,
    ReviewRequestSerializer,
    ReviewSerializer,
    SavedAnnotationSerializer,
    SubmitSerializer,
    TaskAssignSerializer,
    TaskDetailSerializer,
    TaskProgressSerializer,
    TasksAssignedSerializer,
    TasksAssignSerializer,
    TasksCreatedSerializer,
    TasksCreateSerializer,
    TaskSerializer,
    TasksReviewerSerializer,
    TasksReviewerSetSerializer,
    TaskStatusFilterSerializer,
)
from labeling.documents import removed_class_flags
from labeling.models import Task
from labeling.schema import normalized_schema
from labeling.selectors import annotation_tasks as annotation_task_selectors
from labeling.selectors import quality as quality_selectors
from labeling.services import annotation_tasks as annotation_task_services
from labeling.services import annotations as annotation_services
from labeling.services import reviews as review_services
from labeling.services import task_assignment
from portal.accounts.models import User

MAY_NOT_SEE_PROGRESS = "Progress figures are for the team's reviewers, researchers and admins."
MAY_NOT_SEE_QUALITY = "Quality figures are for the team's reviewers, researchers and admins."
NO_SUCH_USER = "No such user."


class TaskCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _etag(version: int) -> str:
    return f'"{version}"'


def task_detail_data(*, user, task: Task) -> dict:
    workspace = annotation_task_selectors.task_workspace_payload(task=task)
    return TaskDetailSerializer(task, context={"workspace": workspace, "user": user}).data


def annotation_data(*, task: Task) -> dict:
    annotation = annotation_services.annotation_of(task=task)
    annotation.save_id = annotation_services.latest_save_id(task=task)
    # Flags follow the schema as it is now, so a class removed since the last save shows at once.
    annotation.flags = removed_class_flags(annotation.shapes, normalized_schema(task.dataset.label_schema))
    return AnnotationSerializer(annotation).data


def _task_detail(request, task: Task) -> Response:
    return Response(task_detail_data(user=request.user, task=task))


@extend_schema(parameters=[TaskStatusFilterSerializer])
class TaskListView(ListAPIView):
    serializer_class = TaskSerializer
    pagination_class = TaskCursorPagination
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        query = TaskStatusFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        return annotation_task_selectors.tasks_for_user(
            user=self.request.user,
            mine=filters["mine"],
            review=filters["review"],
            status=filters["status"],
            dataset_id=filters["dataset"],
            assignee_id=filters["assignee"],
            reviewer_id=filters["reviewer"],
        )


class NextTaskView(GenericAPIView):
    serializer_class = NextTaskSerializer

    @extend_schema(
        request=NextTaskSerializer,
        responses={200: TaskDetailSerializer, 204: OpenApiResponse(description="Nothing is waiting for you.")},
    )
    def post(self, request):
        payload = NextTaskSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        dataset_id = payload.validated_data["dataset"]
        if dataset_id is not None:
            access.access_dataset_for_user(request.user, dataset_id)
        task = annotation_task_services.task_next(user=request.user, dataset_id=dataset_id)
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return _task_detail(request, task)  # the caller's own task, read with its dataset and item


class TaskDetailView(GenericAPIView):
    serializer_class = TaskDetailSerializer

    def get(self, request, pk: int):
        return _task_detail(request, access.access_task_for_user(request.user, pk))

    @extend_schema(request=TaskAssignSerializer, responses={200: TaskDetailSerializer})
    def patch(self, request, pk: int):
        task = access.access_task_for_user(request.user, pk)
        payload = TaskAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assignee_id = payload.validated_data["assignee"]
        assignee = None
        if assignee_id is not None:
            assignee = User.objects.filter(pk=assignee_id).first()
            if assignee is None:
                return Response({"detail": NO_SUCH_USER, "errors": {"assignee": [NO_SUCH_USER]}}, status=400)
        annotation_task_services.task_assign(task=task, user=request.user, assignee=assignee)
        return _task_detail(request, access.access_task_for_user(request.user, pk))


class DatasetTasksView(GenericAPIView):
    serializer_class = TasksCreatedSerializer

    @extend_schema(request=TasksCreateSerializer, responses={201: TasksCreatedSerializer})
    def post(self, request, pk: int):
        """Make tasks for a scope of the dataset's items and (annotators given) hand them out round-robin."""
        dataset = access.access_dataset_for_user(request.user, pk)
        payload = TasksCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        counts = task_assignment.tasks_plan(
            dataset=dataset,
            user=request.user,
            scope=data["scope"] or ("selection" if data["items"] is not None else "all"),
            filters=data["filter"],
            item_ids=data["items"],
            version_id=data["version"],
            overlap=data["overlap"],
            annotator_ids=data["annotators"],
            reviewer_id=data["reviewer"],
        )
        return Response(TasksCreatedSerializer(counts).data, status=status.HTTP_201_CREATED)


class DatasetTasksAssignView(GenericAPIView):
    serializer_class = TasksAssignedSerializer

    @extend_schema(request=TasksAssignSerializer, responses={200: TasksAssignedSerializer})
    def post(self, request, pk: int):
        """Give tasks to one annotator, round-robin to several, or (none) take them back."""
        dataset = access.access_dataset_for_user(request.user, pk)
        payload = TasksAssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        counts = task_assignment.tasks_assign(
            dataset=dataset,
            user=request.user,
            task_ids=payload.validated_data["tasks"],
            annotator_ids=payload.validated_data["annotators"],
        )
        return Response(TasksAssignedSerializer(counts).data)


class DatasetTasksReviewerView(GenericAPIView):
    serializer_class = TasksReviewerSetSerializer

    @extend_schema(request=TasksReviewerSerializer, responses={200: TasksReviewerSetSerializer})
    def post(self, request, pk: int):
        """Route the tasks' review to one reviewer, or (null) to any reviewer of the team."""
        dataset = access.access_dataset_for_user(request.user, pk)
        payload = TasksReviewerSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        counts = task_assignment.tasks_set_reviewer(
            dataset=dataset,
            user=request.user,
            task_ids=payload.validated_data["tasks"],
            reviewer_id=payload.validated_data["reviewer"],
        )
        return Response(TasksReviewerSetSerializer(counts).data)


class DatasetTaskProgressView(GenericAPIView):
    serializer_class = TaskProgressSerializer

    def get(self, request, pk: int):
        """Tasks by status per annotator and per reviewer."""
        dataset = access.access_dataset_for_user(request.user, pk)
        if not access.may_see_team_work(request.user, dataset):
            return Response({"detail": MAY_NOT_SEE_PROGRESS, "errors": {}}, status=status.HTTP_403_FORBIDDEN)
        return Response(TaskProgressSerializer(annotation_task_selectors.task_progress(dataset=dataset)).data)


class AnnotationView(GenericAPIView):
    serializer_class = AnnotationSerializer

    def get(self, request, pk: int):
        task = access.access_task_for_user(request.user, pk)
        body = annotation_data(task=task)
        response = Response(body)
        response["ETag"] = _etag(body["version"])
        return response

    @extend_schema(
        request=AnnotationDocumentSerializer,
        parameters=[
            OpenApiParameter(
                "If-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description='The version you edited, e.g. "3" ("0" before the first save).',
            )
        ],
        responses={
            200: SavedAnnotationSerializer,
            412: OpenApiResponse(description="Stale: `current` holds the server's document."),
            428: OpenApiResponse(description="If-Match missing."),
        },
    )
    def put(self, request, pk: int):
        task = access.access_task_for_user(request.user, pk)
        payload = AnnotationDocumentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        document = dict(payload.validated_data)
        saved = annotation_services.annotation_save(
            task=task,
            user=request.user,
            document={"shapes": document["shapes"], "relations": document["relations"]},
            if_match=request.headers.get("If-Match"),
            save_id=document["save_id"],
            focused_seconds=document["focused_seconds"],
        )
        body = AnnotationSerializer(saved.annotation).data
        response = Response({**body, "clipped": saved.clipped, "task_status": saved.task_status})
        response["ETag"] = _etag(saved.annotation.version)
        return response


class FocusedTimeView(GenericAPIView):
    """Focused time the workspace measured while it had nothing to save (saves carry their own)."""

    serializer_class = FocusedTimeSerializer

    @extend_schema(request=FocusedTimeSerializer, responses={200: TaskSerializer})
    def post(self, request, pk: int):
        task = access.access_task_for_user(request.user, pk)
        payload = FocusedTimeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        annotation_services.task_focused_time_add(
            task=task, user=request.user, seconds=payload.validated_data["seconds"]
        )
        return Response(TaskSerializer(access.access_task_for_user(request.user, pk)).data)


class AnnotationDiffView(GenericAPIView):
    serializer_class = None

    @extend_schema(
        parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, pk: int):
        task = access.access_task_for_user(request.user, pk)
        query = DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        diff = annotation_services.annotation_diff(
            task=task, from_version=query.validated_data["from_version"], to_version=query.validated_data["to"]
        )
        return Response(diff)


class SubmitView(GenericAPIView):
    serializer_class = TaskSerializer

    @extend_schema(request=SubmitSerializer, responses={200: TaskSerializer})
    def post(self, request, pk: int):
        task = access.access_task_for_user(request.user, pk)
        payload = SubmitSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        task = review_services.task_submit(task=task, user=request.user, version=payload.validated_data["version"])
        return Response(TaskSerializer(access.access_task_for_user(request.user, task.pk)).data)


class ReviewView(GenericAPIView):
    serializer_class = ReviewSerializer

    @extend_schema(request=ReviewRequestSerializer, responses={201: ReviewSerializer})
    def post(self, request, pk: int):
        task = access.access_task_for_user(request.user, pk)
        payload = ReviewRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        review = review_services.task_review(
            task=task, user=request.user, decision=data["decision"], comment=data["comment"], shape_id=data["shape"]
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class ItemHistoryView(GenericAPIView):
    serializer_class = None

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        item = access.access_item_for_user(request.user, pk)
        history = annotation_task_selectors.item_history(item=item)
        if not access.may_see_team_work(request.user, item.dataset):  # an annotator sees only their own tasks' history
            own = set(Task.objects.filter(item=item, assignee=request.user).values_list("pk", flat=True))
            history = {key: [entry for entry in rows if entry["task"] in own] for key, rows in history.items()}
        return Response(history)


class DatasetQualityView(GenericAPIView):
    serializer_class = None

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        dataset = access.access_dataset_for_user(request.user, pk)
        if not access.may_see_team_work(request.user, dataset):
            return Response({"detail": MAY_NOT_SEE_QUALITY, "errors": {}}, status=status.HTTP_403_FORBIDDEN)
        return Response(quality_selectors.dataset_quality(dataset=dataset))
