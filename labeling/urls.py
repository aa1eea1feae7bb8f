from django.urls import path

from labeling.views import annotation as annotation_views
from labeling.views import datasets as dataset_views
from labeling.views import exports as export_views
from labeling.views import quality as quality_views
from labeling.views import tasks as task_views

urlpatterns = [
    path("labeling/", dataset_views.labeling_home, name="labeling"),
    path("labeling/datasets/<int:pk>/", dataset_views.dataset_page, name="dataset"),
    path("labeling/datasets/<int:pk>/upload/", dataset_views.upload_page, name="dataset-upload"),
    path("labeling/datasets/<int:pk>/versions/", dataset_views.versions_page, name="dataset-versions"),
    path(
        "labeling/datasets/<int:pk>/versions/compare/", dataset_views.versions_compare, name="dataset-versions-compare"
    ),
    path("labeling/versions/<int:pk>/", dataset_views.version_page, name="version"),
    path("labeling/items/<int:pk>/", dataset_views.item_page, name="item"),
    path("labeling/items/<int:pk>/history/", quality_views.item_history_page, name="item-history"),
    path("labeling/datasets/<int:pk>/tasks/", task_views.dataset_tasks_page, name="dataset-tasks"),
    path("labeling/datasets/<int:pk>/quality/", quality_views.dataset_quality_page, name="dataset-quality"),
    path("label/", annotation_views.queue_page, name="label-queue"),
    path("label/<int:pk>/", annotation_views.workspace_page, name="label-task"),
    path("review/<int:pk>/", annotation_views.review_page, name="review-task"),
    path("labeling/versions/<int:pk>/export/", export_views.version_export_page, name="version-export"),
]
