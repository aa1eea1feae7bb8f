from django.urls import path

from training import views

urlpatterns = [
    path("models/", views.model_list, name="models"),
    path("models/register/", views.model_register_page, name="model-register"),
    path("models/train/", views.train_page, name="model-train"),
    path("models/staged/<int:pk>/", views.staging_detail, name="staging-detail"),
    path("models/prelabel-runs/<int:pk>/", views.prelabel_run_detail, name="prelabel-run-detail"),
    path("models/prelabel-runs/<int:pk>/cancel/", views.prelabel_run_cancel_page, name="prelabel-run-cancel"),
    path("models/<int:pk>/versions/<int:number>/prelabel/", views.prelabel_run_start_page, name="prelabel-run-start"),
    path("models/<int:pk>/", views.model_detail, name="model-detail"),
    path("pipelines/", views.pipeline_list, name="pipelines"),
    path("pipelines/new/", views.pipeline_new, name="pipeline-new"),
    path("pipelines/<int:pk>/", views.pipeline_detail, name="pipeline-detail"),
    path("pipelines/<int:pk>/versions/<int:number>/", views.pipeline_version, name="pipeline-version"),
    path("pipelines/runs/", views.pipeline_runs, name="pipeline-runs"),
    path("pipelines/runs/<int:pk>/", views.pipeline_run_detail, name="pipeline-run-detail"),
    path("pipelines/runs/<int:pk>/graph/", views.pipeline_run_graph, name="pipeline-run-graph"),
    path("models/<int:pk>/versions/<int:number>/", views.model_version_detail, name="model-version-detail"),
]
