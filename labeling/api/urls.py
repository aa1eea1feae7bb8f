from django.urls import path

from labeling.api import annotation, exports, predictions
from labeling.api import datasets as dataset_api

urlpatterns: list = [
    path("datasets/", dataset_api.DatasetListView.as_view(), name="api-datasets"),
    path("datasets/<int:pk>/", dataset_api.DatasetDetailView.as_view(), name="api-dataset-detail"),
    path("datasets/<int:pk>/items/", dataset_api.ItemListView.as_view(), name="api-dataset-items"),
    path("datasets/<int:pk>/uploads/", dataset_api.UploadView.as_view(), name="api-dataset-uploads"),
    path("datasets/<int:pk>/imports/", dataset_api.ImportView.as_view(), name="api-dataset-imports"),
    path("datasets/<int:pk>/versions/", dataset_api.VersionListView.as_view(), name="api-dataset-versions"),
    path("versions/<int:pk>/", dataset_api.VersionDetailView.as_view(), name="api-version-detail"),
    path("versions/<int:pk>/diff/", dataset_api.VersionDiffView.as_view(), name="api-version-diff"),
    path("versions/<int:pk>/items/", dataset_api.VersionItemListView.as_view(), name="api-version-items"),
    path("items/<int:pk>/", dataset_api.ItemDetailView.as_view(), name="api-item-detail"),
    path("import-jobs/<int:pk>/", dataset_api.ImportJobDetailView.as_view(), name="api-import-job-detail"),
    path("versions/<int:pk>/exports/", exports.VersionExportListView.as_view(), name="api-version-exports"),
    path("export-jobs/<int:pk>/", exports.ExportJobDetailView.as_view(), name="api-export-job-detail"),
    path("export-jobs/<int:pk>/download/", exports.ExportJobDownloadView.as_view(), name="api-export-job-download"),
    path(
        "datasets/<int:pk>/annotation-imports/",
        exports.AnnotationImportView.as_view(),
        name="api-dataset-annotation-imports",
    ),
    # OpenSeadragon asks for <dzi name>_files/<level>/<col>_<row>.<format> beside the descriptor.
    path("images/<int:pk>/tiles/image.dzi", dataset_api.DziView.as_view(), name="api-image-dzi"),
    path(
        "images/<int:pk>/tiles/image_files/<int:level>/<int:column>_<int:row>.jpeg",
        dataset_api.TileView.as_view(),
        name="api-image-tile",
    ),
    path("images/<int:pk>/thumbnail/", dataset_api.ThumbnailView.as_view(), name="api-image-thumbnail"),
    path("images/<int:pk>/original/", dataset_api.OriginalView.as_view(), name="api-image-original"),
    # Annotation and review (docs/annotation.md).
    path("tasks/", annotation.TaskListView.as_view(), name="api-tasks"),
    path("tasks/next/", annotation.NextTaskView.as_view(), name="api-task-next"),
    path("tasks/<int:pk>/", annotation.TaskDetailView.as_view(), name="api-task-detail"),
    path("tasks/<int:pk>/annotation/", annotation.AnnotationView.as_view(), name="api-task-annotation"),
    path("tasks/<int:pk>/annotation/diff/", annotation.AnnotationDiffView.as_view(), name="api-task-annotation-diff"),
    path("tasks/<int:pk>/submit/", annotation.SubmitView.as_view(), name="api-task-submit"),
    path("tasks/<int:pk>/focused-time/", annotation.FocusedTimeView.as_view(), name="api-task-focused-time"),
    path("tasks/<int:pk>/review/", annotation.ReviewView.as_view(), name="api-task-review"),
    path("datasets/<int:pk>/tasks/", annotation.DatasetTasksView.as_view(), name="api-dataset-tasks"),
    path(
        "datasets/<int:pk>/tasks/assign/", annotation.DatasetTasksAssignView.as_view(), name="api-dataset-tasks-assign"
    ),
    path(
        "datasets/<int:pk>/tasks/reviewer/",
        annotation.DatasetTasksReviewerView.as_view(),
        name="api-dataset-tasks-reviewer",
    ),
    path(
        "datasets/<int:pk>/tasks/progress/",
        annotation.DatasetTaskProgressView.as_view(),
        name="api-dataset-task-progress",
    ),
    path("datasets/<int:pk>/quality/", annotation.DatasetQualityView.as_view(), name="api-dataset-quality"),
    path("items/<int:pk>/history/", annotation.ItemHistoryView.as_view(), name="api-item-history"),
    path("items/<int:pk>/predictions/", predictions.ItemPredictionsView.as_view(), name="api-item-predictions"),
]
