from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Models and training"

    def ready(self) -> None:
        from labeling.version_sections import register_version_section
        from portal.demo import demo_seeded
        from scheduler.job_actions import register_job_action
        from scheduler.metrics import register_metrics
        from training.demo import demo_training_seed
        from training.metrics import served_models_metrics
        from training.views import lineage_section, register_model_action

        register_job_action("register-model", register_model_action)
        register_version_section("lineage", lineage_section)
        register_metrics("served-models", served_models_metrics)
        # After labeling's demo (its dispatch_uid connects first): the demo's detector trains after start-up.
        demo_seeded.connect(demo_training_seed, dispatch_uid="training-demo")
        self._connect_signals()

    def _connect_signals(self) -> None:
        """A run advances when a step's job or export ends, and starts when a dataset it watches gets a new
        version; a pre-label run ingests the rest of its job's output when the job ends. Scheduler and
        labeling send these signals without knowing training exists."""
        from labeling.signals import export_finished, version_frozen
        from scheduler.signals import job_ended
        from training.services import pipeline_runs, prelabel

        job_ended.connect(pipeline_runs.on_job_ended, dispatch_uid="training-pipelines-job-ended")
        job_ended.connect(prelabel.on_job_ended, dispatch_uid="training-prelabel-job-ended")
        export_finished.connect(pipeline_runs.on_export_finished, dispatch_uid="training-pipelines-export")
        version_frozen.connect(pipeline_runs.on_version_frozen, dispatch_uid="training-pipelines-version")
