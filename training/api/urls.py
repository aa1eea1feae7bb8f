from django.urls import path, re_path

from training.api import lineage, models, pipeline_runs, pipelines, prelabel, serving, staging

urlpatterns: list = [
    path("models/", models.ModelListView.as_view(), name="api-models"),
    path("models/<int:pk>/", models.ModelDetailView.as_view(), name="api-model-detail"),
    path("models/<int:pk>/versions/", models.ModelVersionListView.as_view(), name="api-model-versions"),
    path(
        "models/<int:pk>/versions/<int:number>/",
        models.ModelVersionDetailView.as_view(),
        name="api-model-version-detail",
    ),
    path("models/<int:pk>/aliases/<str:alias>/", models.ModelAliasView.as_view(), name="api-model-alias"),
    re_path(
        r"^models/(?P<name>[^/@]+)@(?P<alias>[^/@]+)/predict/$",
        serving.predict_view(serving.AliasPredictView.as_view()),
        name="api-model-alias-predict",
    ),
    path(
        "models/<str:name>/versions/<int:number>/predict/",
        serving.predict_view(serving.VersionPredictView.as_view()),
        name="api-model-version-predict",
    ),
    path(
        "predictions/requests/<int:pk>/",
        serving.PredictionRequestView.as_view(),
        name="api-prediction-request",
    ),
    path(
        "dataset-versions/<int:pk>/lineage/",
        lineage.DatasetVersionLineageView.as_view(),
        name="api-dataset-version-lineage",
    ),
    path("staged-jobs/", staging.StagedJobListView.as_view(), name="api-staged-jobs"),
    path("staged-jobs/<int:pk>/", staging.StagedJobDetailView.as_view(), name="api-staged-job-detail"),
    path("prelabel-runs/", prelabel.PrelabelRunListView.as_view(), name="api-prelabel-runs"),
    path("prelabel-runs/<int:pk>/", prelabel.PrelabelRunDetailView.as_view(), name="api-prelabel-run-detail"),
    path("prelabel-runs/<int:pk>/cancel/", prelabel.PrelabelRunCancelView.as_view(), name="api-prelabel-run-cancel"),
    path("pipelines/", pipelines.PipelineListView.as_view(), name="api-pipelines"),
    path("pipelines/validate/", pipelines.SpecValidateView.as_view(), name="api-pipeline-validate"),
    path("pipelines/<int:pk>/", pipelines.PipelineDetailView.as_view(), name="api-pipeline-detail"),
    path("pipelines/<int:pk>/versions/", pipelines.SpecVersionListView.as_view(), name="api-pipeline-versions"),
    path(
        "pipelines/<int:pk>/versions/<int:number>/",
        pipelines.SpecVersionDetailView.as_view(),
        name="api-pipeline-version-detail",
    ),
    path("pipeline-runs/", pipeline_runs.RunListView.as_view(), name="api-pipeline-runs"),
    path("pipelines/<int:pk>/triggers/", pipeline_runs.PipelineTriggersView.as_view(), name="api-pipeline-triggers"),
    path("pipeline-runs/<int:pk>/", pipeline_runs.RunDetailView.as_view(), name="api-pipeline-run-detail"),
    path("pipeline-runs/<int:pk>/cancel/", pipeline_runs.RunCancelView.as_view(), name="api-pipeline-run-cancel"),
    path("pipeline-runs/<int:pk>/rerun/", pipeline_runs.RunRerunView.as_view(), name="api-pipeline-run-rerun"),
    path(
        "pipeline-runs/<int:pk>/steps/<str:name>/forget-cache/",
        pipeline_runs.StepCacheForgetView.as_view(),
        name="api-pipeline-step-forget-cache",
    ),
]
